"""One assault attendance to one ISB 1594 row. Pure functions: no database, no HTTP.

Every field is derived from coded content or short structured answers, never from free-text notes:
- method: the answer to a method or weapon question (rules/valuesets/assault-method-questions,
  weapon-questions) translated by rules/istv/assault-method.yaml; else the ICD-10 or SNOMED CT
  codes of the diagnoses, the coded presenting complaint and coded observation values. An explicit
  answer wins over a diagnosis because it was asked for this purpose ("Y04 bodily force" and a
  weapon answer "knife" is a knife assault). Of several, the map's first category wins.
- location type: the answer to a location question, translated by rules/istv/assault-location-type.yaml.
- location description: a description answer, or a location answer that no code matched, if it is
  made of place words only (places.py).
- assault date and time: the answer to a time question, if it is not after the arrival.
- extras: number of assailants (the rule pack's assailant questions), weapon, age band, sex.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from ed_alerts.domain import CodeSystem, Coding, Observation
from ed_alerts.evaluation.ages import age_in_years
from ed_alerts.evaluation.valuesets import ValueSetMatcher, normalise_system
from ed_alerts.violence_export.codes import NOT_KNOWN, IstvCodes
from ed_alerts.violence_export.places import place_description
from ed_alerts.violence_export.schemas import AgeBand, AssaultRow, Sex, Weapon
from ed_alerts.violence_export.selection import AssaultAttendance

OTHER = "other"
WEAPON_METHODS = frozenset({"firearm", "knife_or_sharp_object", "glass_or_bottle", "blunt_object"})
NO_WEAPON_METHODS = frozenset({"body_part"})
_YES = frozenset({"y", "yes", "true"})
_NO = frozenset({"n", "no", "false", "none", "no weapon"})
AGE_BANDS: tuple[tuple[int, AgeBand], ...] = ((4, "0-4"), (9, "5-9"), (14, "10-14"), (17, "15-17"))
ADULT_AGE = 18
SEXES: dict[str, Sex] = {"male": "male", "female": "female", "other": "other"}
MAX_ASSAILANTS = 99
# A one-word answer ("Knife", "Park") is read as a local code; longer text never is.
MAX_ANSWER_CHARS = 40
_HL7_TS = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?(?:(\d{2})(?:\.\d{1,4})?)?)?([+-]\d{4})?$")


def to_row(att: AssaultAttendance, codes: IstvCodes, zone: ZoneInfo) -> AssaultRow | None:
    """The row for one attendance, or None when the child turns out to be an adult."""
    arrival = att.arrival_time.astimezone(zone)
    age = age_in_years(att.birth_date, arrival.date())
    if age is not None and age >= ADULT_AGE:
        return None  # a corrected birth date can leave an old flag on an adult: not this data set's
    method, method_other = assault_method(att, codes)
    location_type, location_description = assault_location(att, codes)
    moment = assault_moment(att, codes, zone)
    return AssaultRow(
        site_code=att.site_code,
        arrival_date=arrival.date(),
        arrival_time=f"{arrival:%H:%M}",
        assault_date=moment.date if moment else None,
        assault_time=f"{moment.time:%H:%M}" if moment and moment.time else None,
        assault_method=method,
        assault_method_other_description=method_other,
        assault_location_type=location_type,
        assault_location_description=location_description,
        number_of_assailants=number_of_assailants(att, codes),
        weapon=weapon(att, codes, method),
        age_band=age_band(age),
        sex=SEXES.get((att.sex or "").strip().lower(), "not known"),
    )


def _answers(att: AssaultAttendance, *questions: ValueSetMatcher) -> list[Observation]:
    return [obs for obs in att.observations if any(q.match(obs.code) is not None for q in questions)]


def _answer_codings(obs: Observation) -> list[Coding]:
    """An answer's code, and its short text read as a local code ("Sharp object" -> SHARP_OBJECT)."""
    codings = [obs.value_code] if obs.value_code is not None else []
    text = (obs.value_text or "").strip()
    if text and len(text) <= MAX_ANSWER_CHARS:
        codings.append(Coding(system=CodeSystem.LOCAL, code=re.sub(r"[\s-]+", "_", text.upper())))
    return codings


def assault_method(att: AssaultAttendance, codes: IstvCodes) -> tuple[str, str | None]:
    """(category, description when the category is `other`)."""
    answers = _answers(att, codes.method_questions, codes.weapon_questions)
    found = codes.method.best(c for obs in answers for c in _answer_codings(obs))
    if found is None:
        # A feed's local codes outside a method question mean nothing here ("HEAD" may be a body site).
        coded = [*att.diagnoses, att.reason_code, *(obs.value_code for obs in att.observations)]
        found = codes.method.best(c for c in coded
                                  if c is not None and normalise_system(c.system) is not CodeSystem.LOCAL)
    if found is None:
        return NOT_KNOWN, None
    # The description is our code list's words for the code, never the feed's display.
    return found.value, (found.display or None) if found.value == OTHER else None


def assault_location(att: AssaultAttendance, codes: IstvCodes) -> tuple[str, str | None]:
    """(location type, a description made of place words only, or None)."""
    typed = _answers(att, codes.location_questions)
    found = codes.location.best(c for obs in typed for c in _answer_codings(obs))
    unmapped = [obs for obs in typed if codes.location.best(_answer_codings(obs)) is None]
    candidates: list[str | None] = []
    for obs in [*_answers(att, codes.description_questions), *unmapped]:
        candidates.extend([obs.value_text, obs.value_code.display if obs.value_code else None])
    description = next((d for d in (place_description(t, codes.description_words) for t in candidates) if d),
                       None)
    return (found.value if found else NOT_KNOWN), description


@dataclass(frozen=True)
class Moment:
    """When the assault happened, in local time; `time` is None when only the date is known."""

    date: date
    time: time | None
    at: datetime | None = None  # the exact instant, when a time was given

    def not_after(self, arrival: datetime, zone: ZoneInfo) -> bool:
        if self.at is not None:
            return self.at <= arrival
        return self.date <= arrival.astimezone(zone).date()


def parse_moment(text: str | None, zone: ZoneInfo) -> Moment | None:
    """An HL7 TS/DTM/DT ("20240612193000+0100", "20240612") or ISO 8601 value (FHIR dateTime).

    A value without an offset is local time. Anything else, including a time with no date, is None.
    """
    value = (text or "").strip()
    if not value:
        return None
    try:
        hl7 = _HL7_TS.match(value)
        if hl7:
            year, month, day, hour, minute, second, offset = hl7.groups()
            if hour is None:
                return Moment(date(int(year), int(month), int(day)), None)
            tz: timezone | ZoneInfo = zone
            if offset:
                sign = -1 if offset[0] == "-" else 1
                tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
            at = datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0),
                          tzinfo=tz)
        elif "T" in value:
            at = datetime.fromisoformat(value)  # "Z" included, since 3.11
            if at.tzinfo is None:
                at = at.replace(tzinfo=zone)
        else:
            return Moment(date.fromisoformat(value), None)
    except ValueError:
        return None
    local = at.astimezone(zone)
    return Moment(local.date(), local.time().replace(second=0, microsecond=0), at)


def assault_moment(att: AssaultAttendance, codes: IstvCodes, zone: ZoneInfo) -> Moment | None:
    """The most precise answer that is not after the arrival (one after it is wrong, and left out)."""
    moments = [m for m in (parse_moment(obs.value_text, zone) for obs in _answers(att, codes.time_questions))
               if m is not None and m.not_after(att.arrival_time, zone)]
    with_time = [m for m in moments if m.time is not None]
    best = with_time or moments
    return best[0] if best else None


def number_of_assailants(att: AssaultAttendance, codes: IstvCodes) -> int | None:
    """The largest plausible count recorded (a whole number from 1 to 99); None otherwise."""
    counts: list[int] = []
    for obs in _answers(att, codes.assailant_questions):
        number = obs.value_number
        text = (obs.value_text or "").strip()
        if number is None and text.isdigit():
            number = float(text)
        if number is not None and number.is_integer() and 1 <= number <= MAX_ASSAILANTS:
            counts.append(int(number))
    return max(counts) if counts else None


def _words(obs: Observation) -> set[str]:
    parts: Iterable[str | None] = (obs.value_text, obs.value_code.code if obs.value_code else None,
                                   obs.value_code.display if obs.value_code else None)
    return {p.strip().casefold() for p in parts if p and p.strip()}


def weapon(att: AssaultAttendance, codes: IstvCodes, method: str) -> Weapon:
    """yes: an answer, the method or an active weapon flag says so; no: an answer says no weapon (or
    a body part) and nothing says yes; otherwise not known."""
    yes = method in WEAPON_METHODS or att.weapon_flag
    no = False
    for obs in _answers(att, codes.weapon_questions, codes.method_questions):
        words = _words(obs)
        if words & _YES:
            yes = True
        elif words & _NO:
            no = True
        else:
            found = codes.method.best(_answer_codings(obs))
            if found is not None and found.value in WEAPON_METHODS:
                yes = True
            elif found is not None and found.value in NO_WEAPON_METHODS:
                no = True
    return "yes" if yes else "no" if no else "not known"


def age_band(age: int | None) -> AgeBand:
    if age is None:
        return "not known"
    for upper, band in AGE_BANDS:
        if age <= upper:
            return band
    return "not known"  # 18 and over never reaches here: to_row drops adults
