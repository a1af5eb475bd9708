"""The canonical domain: what every adapter in `integrations/` maps an inbound message to.

Nothing here knows about HL7 v2, FHIR, HTTP or tables. Adapters produce an `InboundEvent`;
the ingest pipeline stores it and links it to a patient.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


class EventKind(StrEnum):
    REGISTER = "register"  # A01, A04, a new FHIR Encounter
    UPDATE = "update"  # A08
    DISCHARGE = "discharge"  # A03, FHIR Encounter finished
    CANCEL = "cancel"  # A11, FHIR Encounter cancelled / entered-in-error
    MERGE = "merge"  # A40


class SourceType(StrEnum):
    HOSPITAL_ED = "hospital_ed"
    MINOR_INJURY_UNIT = "minor_injury_unit"
    AMBULANCE = "ambulance"
    SEXUAL_HEALTH = "sexual_health"


class CodeSystem(StrEnum):
    ICD10 = "icd10"
    SNOMED = "snomed"
    LOCAL = "local"  # a feed's own code; per-feed maps translate these


class Identifier(BaseModel):
    """A patient identifier as received. `system` is the NHS number system or the assigning authority."""

    system: str
    value: str
    is_nhs_number: bool = False
    valid: bool = True  # False for an NHS number that fails Modulus 11: kept, never used to match


class Coding(BaseModel):
    system: CodeSystem | str
    code: str
    display: str | None = None


class Observation(BaseModel):
    """A structured observation (HL7 OBX, FHIR Observation)."""

    code: Coding | None = None  # what was observed, e.g. a local "FEELS_SAFE" question
    value_type: str = "text"  # "coded", "numeric", "text" or the feed's own type
    value_text: str | None = None
    value_number: float | None = None
    value_code: Coding | None = None
    units: str | None = None
    # Who vouches for an observation the message did not carry (e.g. "CP-IS" for a lookup's answer).
    # Set in memory for evaluation only; excluded from dumps, so never stored as the message's content.
    origin: str | None = Field(default=None, exclude=True)


class FreeText(BaseModel):
    """A free-text note with where it came from, so flags can point at it."""

    source: str  # e.g. "NTE", "OBX-5", "PV2-3", "Encounter.reasonCode.text"
    text: str


class Address(BaseModel):
    lines: list[str] = Field(default_factory=list)
    city: str | None = None
    postcode: str | None = None
    country: str | None = None


class Patient(BaseModel):
    identifiers: list[Identifier] = Field(default_factory=list)
    family_name: str | None = None
    given_names: list[str] = Field(default_factory=list)
    birth_date: date | None = None
    sex: str | None = None  # "male", "female", "other", "unknown"
    address: Address | None = None

    @property
    def nhs_number(self) -> str | None:
        """The first valid NHS number, the only identifier trusted across organisations."""
        for ident in self.identifiers:
            if ident.is_nhs_number and ident.valid:
                return ident.value
        return None


class Attendance(BaseModel):
    """One ED visit or ambulance incident as a message describes it."""

    visit_number: str | None = None  # PV1-19, FHIR Encounter identifier or id
    patient_class: str | None = None  # PV1-2, FHIR Encounter.class code
    arrival_time: datetime | None = None
    discharge_time: datetime | None = None
    reason: str | None = None  # presenting complaint text
    reason_code: Coding | None = None
    diagnoses: list[Coding] = Field(default_factory=list)
    observations: list[Observation] = Field(default_factory=list)
    notes: list[FreeText] = Field(default_factory=list)
    conveyed_to_hospital: bool | None = None  # ambulance only; a non-conveyed child is still an attendance


class InboundEvent(BaseModel):
    """What an adapter hands to the pipeline: one canonical event from one message."""

    kind: EventKind
    message_type: str  # e.g. "ADT^A04" or "Bundle/message"
    sender: str  # the site as the feed knows it: MSH-4 or the FHIR source
    control_id: str  # MSH-10, or the Bundle / MessageHeader / resource id
    event_time: datetime | None = None  # when the event happened (EVN-2, MSH-7): orders out-of-order updates
    version: str | None = None  # HL7 version or "R4"
    patient: Patient = Field(default_factory=Patient)
    attendance: Attendance = Field(default_factory=Attendance)
    merged_identifiers: list[Identifier] = Field(default_factory=list)  # A40 MRG-1: the patient that goes away
    unmapped_segments: list[str] = Field(default_factory=list)  # segment ids kept raw but not mapped
    source_type_hint: SourceType | None = None  # what the message says about its source, if anything
