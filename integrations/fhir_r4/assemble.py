"""Build one InboundEvent per attendance Encounter from the validated resources of one message."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ed_alerts.domain import InboundEvent, Patient, SourceType

from .clinical import ClinicalContent, map_condition, map_observation
from .codes import SOURCE_TYPE_SYSTEM, source_type_from_tags
from .encounter import event_kind, is_attendance, map_attendance
from .patient import map_patient, patient_from_reference
from .references import Entry, ResourceIndex
from .rejection import invalid, unsupported

log = logging.getLogger(__name__)

FHIR_VERSION = "R4"
_CLINICAL_TYPES = ("Condition", "Observation")


@dataclass(frozen=True)
class ParsedFhirEvent:
    """One attendance read from a FHIR message.

    Several events from one Bundle share its (sender, control_id); `encounter_path` (where the
    Encounter sat, e.g. "Bundle.entry[3].resource") tells them apart. `warnings` are for message
    health and never quote patient identifiers.
    """

    event: InboundEvent
    encounter_path: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageContext:
    """What the message says about itself, shared by all its events."""

    message_type: str  # "Bundle/message", "Bundle/transaction", "Bundle/collection" or "Encounter"
    sender: str
    control_id: str
    timestamp: datetime | None = None  # Bundle.timestamp
    fallback_times: tuple[datetime | None, ...] = ()  # used after the Encounter's own meta.lastUpdated
    source_type: SourceType | None = None  # from the MessageHeader or Bundle meta.tag
    warnings: tuple[str, ...] = field(default_factory=tuple)


def assemble_events(entries: list[Entry], context: MessageContext) -> list[ParsedFhirEvent]:
    encounters = [e for e in entries if e.resource_type == "Encounter"]
    if not encounters:
        raise _no_encounter(entries)
    attendances: list[tuple[Entry, SourceType | None]] = []
    warnings = list(context.warnings)
    for encounter in encounters:
        source_type = source_type_from_tags(encounter.model.meta) or context.source_type
        if is_attendance(encounter.model, source_type):
            attendances.append((encounter, source_type))
        else:
            warnings.append(f"{encounter.path}: Encounter class {_class_code(encounter)} is not an ED or "
                            "ambulance attendance: not mapped")
    if not attendances:
        raise _no_attendance(encounters)

    index = ResourceIndex(entries)
    patients = {id(e): _resolve_patient(e, index, entries) for e, _ in attendances}
    links, unattached = _link_clinical(entries, encounters, [e for e, _ in attendances], index, patients)
    if unattached:
        warnings.extend(f"{e.path}: {e.resource_type} not linked to an attendance Encounter: not mapped"
                        for e in unattached)
    shared_unmapped = _ordered_unique([e.resource_type for e in entries if e.model is None]
                                      + [e.resource_type for e in unattached])
    events = [
        _event(encounter, source_type, context, patients[id(encounter)], links[id(encounter)],
               shared_unmapped, warnings)
        for encounter, source_type in attendances
    ]
    log.debug("FHIR %s mapped to %d attendance event(s)", context.message_type, len(events))
    return events


def _event(encounter: Entry, source_type: SourceType | None, context: MessageContext,
           resolved_patient: tuple[Patient, list[str], Entry | None], clinical: list[Entry],
           shared_unmapped: list[str], shared_warnings: list[str]) -> ParsedFhirEvent:
    model = encounter.model
    patient, patient_warnings, _ = resolved_patient
    attendance, warnings = map_attendance(model)
    content = ClinicalContent(notes=list(attendance.notes))
    for entry in clinical:
        content.extend(map_condition(entry.model) if entry.resource_type == "Condition"
                       else map_observation(entry.model))
    attendance = attendance.model_copy(update={
        "diagnoses": content.diagnoses, "observations": content.observations, "notes": content.notes,
    })
    contained_unmapped = [c.resource_type for c in encounter.contained
                          if c.resource_type not in _CLINICAL_TYPES and c.resource_type != "Patient"]
    meta_time = model.meta.lastUpdated if model.meta else None
    event_time = next((t for t in (context.timestamp, meta_time, *context.fallback_times) if t), None)
    event = InboundEvent(
        kind=event_kind(model),
        message_type=context.message_type,
        sender=context.sender,
        control_id=context.control_id,
        event_time=event_time,
        version=FHIR_VERSION,
        patient=patient,
        attendance=attendance,
        unmapped_segments=_ordered_unique(shared_unmapped + contained_unmapped),
        source_type_hint=source_type,
    )
    return ParsedFhirEvent(event=event, encounter_path=encounter.path,
                           warnings=tuple(shared_warnings + patient_warnings + warnings))


def _resolve_patient(encounter: Entry, index: ResourceIndex,
                     entries: list[Entry]) -> tuple[Patient, list[str], Entry | None]:
    subject = encounter.model.subject
    if subject is None:
        # No subject at all: a message about one patient still names them once.
        patients = [e for e in entries if e.resource_type == "Patient"]
        if len(patients) == 1:
            return (*map_patient(patients[0].model), patients[0])
        return Patient(), [f"{encounter.path}.subject is missing: attendance kept without a patient"], None
    target = index.resolve(subject.reference, source=encounter)
    if target is not None and target.resource_type == "Patient":
        return (*map_patient(target.model), target)
    if target is not None:
        warning = f"{encounter.path}.subject is a {target.resource_type}, not a Patient"
        return Patient(), [warning + ": attendance kept without a patient"], None
    patient, warnings = patient_from_reference(subject)
    if not patient.identifiers:
        warnings.append(f"{encounter.path}.subject: the Patient is not in the message and the reference has "
                        "no identifier: attendance kept without a patient")
    return patient, warnings, None


def _link_clinical(entries: list[Entry], encounters: list[Entry], attendances: list[Entry],
                   index: ResourceIndex, patients: dict[int, tuple[Patient, list[str], Entry | None]],
                   ) -> tuple[dict[int, list[Entry]], list[Entry]]:
    """Which Conditions and Observations belong to which attendance.

    Linked: contained in the Encounter; named by Encounter.diagnosis or reasonReference; or naming the
    Encounter in their own `encounter`. When the message holds a single Encounter, a resource with no
    encounter reference belongs to it unless its subject is clearly another Patient. Anything else
    is ambiguous and left unmapped rather than pinned on the wrong visit.
    """
    links: dict[int, list[Entry]] = {id(a): [] for a in attendances}
    for attendance in attendances:
        links[id(attendance)].extend(c for c in attendance.contained if c.resource_type in _CLINICAL_TYPES)
    named_by: dict[int, Entry] = {}
    for attendance in attendances:
        model = attendance.model
        references = [d.condition for d in model.diagnosis or []] + list(model.reasonReference or [])
        for reference in references:
            target = index.resolve(reference.reference, source=attendance)
            if target is not None and target.resource_type in _CLINICAL_TYPES and target.container is None:
                named_by.setdefault(id(target), attendance)
    unattached: list[Entry] = []
    for entry in entries:
        if entry.resource_type not in _CLINICAL_TYPES:
            continue
        owner = named_by.get(id(entry)) or _owner(entry, encounters, index, patients)
        if owner is not None and id(owner) in links:
            links[id(owner)].append(entry)
        else:
            unattached.append(entry)
    return links, unattached


def _owner(entry: Entry, encounters: list[Entry], index: ResourceIndex,
           patients: dict[int, tuple[Patient, list[str], Entry | None]]) -> Entry | None:
    reference = entry.model.encounter
    if reference is not None and (reference.reference or reference.identifier):
        target = index.resolve(reference.reference, source=entry)
        return target if target is not None and target.resource_type == "Encounter" else None
    if len(encounters) != 1:
        return None
    only = encounters[0]
    subject = index.resolve(entry.model.subject.reference, source=entry) if entry.model.subject else None
    encounter_patient = patients.get(id(only), (None, None, None))[2]
    if subject is not None and subject.resource_type == "Patient" and subject is not encounter_patient:
        return None
    return only


def _no_encounter(entries: list[Entry]) -> Exception:
    if not entries:
        return invalid("Bundle holds no resources: expected an Encounter", location="Bundle.entry",
                       issue_code="required", hl7_error_code="101")
    counts = Counter(e.resource_type for e in entries)
    found = ", ".join(f"{t} x{n}" if n > 1 else t for t, n in counts.items())
    if all(e.model is None for e in entries):
        return unsupported(f"Bundle holds no Encounter, only resource types this service does not read "
                           f"({found})", location="Bundle.entry")
    return invalid(f"Bundle holds no Encounter (it holds {found}): an attendance must be an Encounter",
                   location="Bundle.entry", issue_code="required", hl7_error_code="101")


def _no_attendance(encounters: list[Entry]) -> Exception:
    classes = ", ".join(_ordered_unique([_class_code(e) for e in encounters]))
    return unsupported(f"no ED or ambulance attendance: Encounter class {classes} is not EMER (now or in "
                       f"classHistory) and no meta.tag {SOURCE_TYPE_SYSTEM}|ambulance marks an ambulance "
                       "source", location=encounters[0].path)


def _class_code(encounter: Entry) -> str:
    coding: Any = encounter.model.class_fhir
    return (coding.code if coding is not None and coding.code else "(none)")


def _ordered_unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
