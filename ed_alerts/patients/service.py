"""Identity linking: find or create the child a message is about, and apply A40 merges.

A valid NHS number is trusted first; then local identifiers per assigning authority. An NHS number
that fails its check digit is never used to match (it would risk attaching one child's history to
another).
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from sqlalchemy import Select, Table, and_, bindparam, insert, or_, select
from sqlalchemy.orm import Session

from ed_alerts import domain
from ed_alerts.patients.lookup import survivor_id
from ed_alerts.patients.models import Patient, PatientIdentifier


def _matchable(identifiers: list[domain.Identifier]) -> list[tuple[str, str]]:
    """(system, value) pairs safe to match on, NHS numbers first."""
    nhs = [(domain.NHS_NUMBER_SYSTEM, i.value) for i in identifiers if i.is_nhs_number and i.valid]
    local = [(i.system, i.value) for i in identifiers if not i.is_nhs_number and i.value]
    seen: set[tuple[str, str]] = set()
    ordered = []
    for pair in nhs + local:
        if pair not in seen:
            seen.add(pair)
            ordered.append(pair)
    return ordered


_IDENTIFIER = cast(Table, PatientIdentifier.__table__)


@lru_cache(maxsize=16)
def _held_statement(pairs: int) -> Select[Patient, str, str]:
    """The look-up for `pairs` identifiers, built once per count (messages carry one to a few)."""
    # OR of (system, value) pairs rather than a row-value IN: SQLite answers the IN form by scanning
    # the whole table, the OR form with one look-up in the unique index per pair.
    return (
        select(Patient, PatientIdentifier.system, PatientIdentifier.value)
        .join(PatientIdentifier, PatientIdentifier.patient_id == Patient.id)
        .where(or_(*(and_(PatientIdentifier.system == bindparam(f"s{i}"),
                          PatientIdentifier.value == bindparam(f"v{i}")) for i in range(pairs))))
    )


def _held(session: Session, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Patient]:
    """Which of these identifiers are already held, and by whom: one query, the holders loaded with it."""
    if not pairs:
        return {}
    params = {f"{k}{i}": v for i, pair in enumerate(pairs) for k, v in zip("sv", pair, strict=True)}
    rows = session.execute(_held_statement(len(pairs)), params)
    return {(system, value): patient for patient, system, value in rows}


def _holder(session: Session, pairs: list[tuple[str, str]], held: dict[tuple[str, str], Patient]) -> Patient | None:
    for pair in pairs:  # in order of trust: the NHS number first
        patient = held.get(pair)
        if patient is not None:
            if patient.merged_into_id is None:
                return patient
            survivor = survivor_id(session, patient.id)  # follows A40 merges
            return session.get_one(Patient, survivor if survivor is not None else patient.id)
    return None


def find_patient(session: Session, identifiers: list[domain.Identifier]) -> Patient | None:
    pairs = _matchable(identifiers)
    return _holder(session, pairs, _held(session, pairs))


def _apply_demographics(patient: Patient, incoming: domain.Patient, *, overwrite: bool) -> None:
    def put(attr: str, value: object) -> None:
        if value in (None, "", []):
            return
        if overwrite or getattr(patient, attr) in (None, "", []):
            setattr(patient, attr, value)

    put("family_name", incoming.family_name)
    put("given_names", " ".join(incoming.given_names) or None)
    put("birth_date", incoming.birth_date)
    put("sex", incoming.sex)
    if incoming.address is not None:
        put("address_lines", incoming.address.lines)
        put("city", incoming.address.city)
        put("postcode", incoming.address.postcode)


def link_patient(session: Session, incoming: domain.Patient, *, newer: bool = True) -> Patient:
    """The child this message is about, created if new. `newer` False keeps existing demographics."""
    pairs = _matchable(incoming.identifiers)
    held = _held(session, pairs)
    patient = _holder(session, pairs, held)
    if patient is None:
        patient = Patient()
        newer = True
    _apply_demographics(patient, incoming, overwrite=newer)
    if patient.id is None:  # new: inserted with its demographics, for the id its identifiers need
        session.add(patient)
        session.flush()
    # An identifier already held by another child is left where it is: moving it silently would
    # merge two children. Only an explicit A40 merge does that.
    new = [{"patient_id": patient.id, "system": system, "value": value}
           for system, value in pairs if (system, value) not in held]
    if new:  # in Core: nothing in the transaction reads them back as objects, and the ORM's unit of
        # work cost more than the insert (this runs for every message)
        session.connection().execute(insert(_IDENTIFIER), new)
    return patient


def merge_patients(session: Session, survivor: Patient, merged: list[domain.Identifier]) -> Patient | None:
    """A40: the patient holding `merged` identifiers joins `survivor`. Returns the merged-away patient."""
    # Local imports: attendances and flags depend on patients, not the other way round.
    from ed_alerts.attendances.models import Attendance
    from ed_alerts.flags.models import Flag

    loser = find_patient(session, merged)
    if loser is None or loser.id == survivor.id:
        return None
    for row in session.scalars(select(PatientIdentifier).where(PatientIdentifier.patient_id == loser.id)):
        row.patient_id = survivor.id
    for att in session.scalars(select(Attendance).where(Attendance.patient_id == loser.id)):
        att.patient_id = survivor.id
    for flag in session.scalars(select(Flag).where(Flag.patient_id == loser.id)):
        flag.patient_id = survivor.id
    loser.merged_into_id = survivor.id
    _apply_demographics(survivor, _as_domain(loser), overwrite=False)
    session.flush()
    return loser


def _as_domain(patient: Patient) -> domain.Patient:
    return domain.Patient(
        family_name=patient.family_name,
        given_names=(patient.given_names or "").split(),
        birth_date=patient.birth_date,
        sex=patient.sex,
        address=domain.Address(lines=patient.address_lines or [], city=patient.city,
                               postcode=patient.postcode),
    )
