"""PID -> canonical Patient: identifiers, name, birth date, sex, home address."""

from __future__ import annotations

from ed_alerts.domain import Address, Patient
from ed_alerts.errors import MessageRejected
from integrations.hl7v2.config import FeedConfig
from integrations.hl7v2.er7 import Segment
from integrations.hl7v2.fields import date_field
from integrations.hl7v2.identifiers import identifiers_from_field

# HL7 table 0001, the NHS Data Dictionary's person stated gender codes (0/1/2/9), and words.
_SEX = {
    "M": "male", "1": "male", "MALE": "male",
    "F": "female", "2": "female", "FEMALE": "female",
    "O": "other", "A": "other", "9": "other", "OTHER": "other",
    "U": "unknown", "N": "unknown", "0": "unknown", "UNKNOWN": "unknown",
}


def map_patient(pid: Segment, *, sender: str, feed: FeedConfig, warnings: list[str]) -> Patient:
    identifiers = identifiers_from_field(pid, 3, sender=sender, feed=feed)
    if not identifiers:
        # Older feeds (v2.3 and before) sometimes carry the id only in PID-2, the external id.
        identifiers = identifiers_from_field(pid, 2, sender=sender, feed=feed)
        if not identifiers:
            raise MessageRejected("PID-3 (patient identifier list) holds no identifier",
                                  ack_code="AE", hl7_error_code="101", location="PID-3")
        warnings.append("PID-3 is empty; the patient identifier was taken from PID-2")
    family, given = _name(pid)
    return Patient(
        identifiers=identifiers,
        family_name=family,
        given_names=given,
        birth_date=date_field(pid, 7, "birth date"),
        sex=_sex(pid.get(8), warnings),
        address=_address(pid),
    )


def _preferred(pid: Segment, n: int, type_component: int, preferred: tuple[str, ...]) -> str | None:
    """The repetition of a name or address field whose type is preferred, else the first one."""
    reps = [rep for rep in pid.repetitions(n)
            if any(pid.decode(c) for i, c in enumerate(pid.components(rep), 1) if i != type_component)]
    for rep in reps:
        if pid.part(rep, type_component).upper() in preferred:
            return rep
    return reps[0] if reps else None


def _name(pid: Segment) -> tuple[str | None, list[str]]:
    rep = _preferred(pid, 5, 7, ("L",))  # L: legal name
    if rep is None:
        return None, []
    family = pid.part(rep, 1) or None
    given = [name for name in (pid.part(rep, 2), pid.part(rep, 3)) if name]
    return family, given


def _sex(value: str, warnings: list[str]) -> str | None:
    key = value.strip().upper().strip("-.*_ ")  # one feed sends "M-"
    if not key:
        return None
    sex = _SEX.get(key)
    if sex is None:
        warnings.append("PID-8 (sex) holds a code we do not recognise; mapped to unknown")
        return "unknown"
    return sex


def _address(pid: Segment) -> Address | None:
    rep = _preferred(pid, 11, 7, ("H", "HOME"))
    if rep is None:
        return None
    lines = [line for line in (pid.part(rep, 1), pid.part(rep, 2)) if line]
    postcode = " ".join(pid.part(rep, 5).upper().split()) or None
    address = Address(lines=lines, city=pid.part(rep, 3) or None, postcode=postcode,
                      country=pid.part(rep, 6) or None)
    if not (address.lines or address.city or address.postcode or address.country):
        return None  # only an address type was sent (^^^^^^H)
    return address
