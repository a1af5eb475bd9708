"""One attendance to one ISB 1594 row, without a database: method, location, times, extras."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ed_alerts.domain import CodeSystem
from ed_alerts.violence_export.codes import IstvCodes
from ed_alerts.violence_export.mapping import (
    age_band,
    assault_location,
    assault_method,
    assault_moment,
    number_of_assailants,
    parse_moment,
    to_row,
    weapon,
)
from ed_alerts.violence_export.selection import AssaultAttendance
from tests.violence_export.conftest import answer, coding

LONDON = ZoneInfo("Europe/London")
Make = Callable[..., AssaultAttendance]


# --- assault method ------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "method"), [
    ("X99", "knife_or_sharp_object"),
    ("X99.0", "knife_or_sharp_object"),
    ("Y00", "blunt_object"),
    ("Y04", "body_part"),
    ("Y04.0", "body_part"),
    ("X93", "firearm"),
    ("X94.1", "firearm"),
    ("X95", "firearm"),
    ("X86", "other"),
    ("Y09", "not_known"),  # assault by unspecified means says nothing about the means
    ("Y07", "not_known"),
    ("S02.2", "not_known"),  # an injury, not a cause
])
def test_method_from_an_icd10_diagnosis(code: str, method: str, attendance: Make, codes: IstvCodes) -> None:
    att = attendance(diagnoses=[coding(code, "I10", "whatever the feed says")])
    assert assault_method(att, codes)[0] == method


def test_method_from_snomed_codes_in_any_coded_field(attendance: Make, codes: IstvCodes) -> None:
    stab = coding("425322008", "http://snomed.info/sct", "Stab wound")
    gunshot = coding("283545005", CodeSystem.SNOMED)
    assert assault_method(attendance(diagnoses=[stab]), codes)[0] == "knife_or_sharp_object"
    assert assault_method(attendance(reason_code=gunshot), codes)[0] == "firearm"
    injury = answer("INJURY_TYPE", code=gunshot)
    assert assault_method(attendance(observations=[injury]), codes)[0] == "firearm"


def test_the_most_serious_coded_method_wins(attendance: Make, codes: IstvCodes) -> None:
    att = attendance(diagnoses=[coding("Y04", "I10"), coding("X99", "I10"), coding("X93", "I10")])
    assert assault_method(att, codes) == ("firearm", None)


def test_an_answer_to_the_method_or_weapon_question_beats_the_diagnosis(attendance: Make,
                                                                        codes: IstvCodes) -> None:
    knife = answer("WEAPON", code=coding("KNIFE", display="Knife or bladed article"))
    att = attendance(diagnoses=[coding("Y04.0", "I10")], observations=[knife])
    assert assault_method(att, codes) == ("knife_or_sharp_object", None)
    glass = answer("ASSAULT_METHOD", text="Glass", value_type="text")  # a one-word text answer
    assert assault_method(attendance(diagnoses=[coding("X99", "I10")], observations=[glass]), codes)[0] == \
        "glass_or_bottle"


def test_local_codes_outside_the_method_questions_are_not_read(attendance: Make, codes: IstvCodes) -> None:
    # "HEAD" answering a body-site question is not a head-butt.
    body_site = answer("BODY_SITE", code=coding("HEAD", display="Head"))
    assert assault_method(attendance(observations=[body_site]), codes) == ("not_known", None)


def test_other_is_described_by_our_code_list_never_by_the_feed(attendance: Make, codes: IstvCodes) -> None:
    att = attendance(diagnoses=[coding("X86", "I10", "Acid thrown by Jake Example at 3 Mill Road")])
    assert assault_method(att, codes) == ("other", "Corrosive substance")
    assert assault_method(attendance(diagnoses=[coding("X99", "I10")]), codes)[1] is None  # only for other


def test_a_long_text_answer_is_never_read_as_a_code(attendance: Make, codes: IstvCodes) -> None:
    long_text = answer("WEAPON", text="knife " * 10, value_type="text")
    assert assault_method(attendance(observations=[long_text]), codes) == ("not_known", None)


# --- assault location ----------------------------------------------------------------------------

def test_location_type_from_a_local_or_snomed_answer(attendance: Make, codes: IstvCodes) -> None:
    park = answer("ASSAULT_LOCATION_TYPE", code=coding("PARK", display="Park or playground"))
    home = answer("INJURY_PLACE", code=coding("264362003", "http://snomed.info/sct", "Home"))
    bus = answer("ASSAULT_LOCATION_TYPE", text="Bus stop", value_type="text")
    assert assault_location(attendance(observations=[park]), codes) == ("park_or_open_space", None)
    assert assault_location(attendance(observations=[home]), codes) == ("home", None)
    assert assault_location(attendance(observations=[bus]), codes)[0] == "public_transport"


def test_location_type_is_not_known_without_an_answer(attendance: Make, codes: IstvCodes) -> None:
    # Codes elsewhere (an injury of the head at home, a PARK code to another question) do not count.
    stray = answer("CAR_PARK_USED", code=coding("PARK"))
    assert assault_location(attendance(observations=[stray]), codes) == ("not_known", None)


def test_location_description_from_a_structured_answer(attendance: Make, codes: IstvCodes) -> None:
    gates = answer("ASSAULT_LOCATION", text="Outside the school  gates.", value_type="text")
    park = answer("ASSAULT_LOCATION_TYPE", code=coding("PARK", display="Park or playground"))
    assert assault_location(attendance(observations=[park, gates]), codes) == \
        ("park_or_open_space", "outside the school gates")


def test_an_unmapped_location_answer_can_still_describe_the_place(attendance: Make, codes: IstvCodes) -> None:
    underpass = answer("ASSAULT_LOCATION_TYPE", text="underpass near the station", value_type="text")
    assert assault_location(attendance(observations=[underpass]), codes) == \
        ("not_known", "underpass near the station")


@pytest.mark.parametrize("text", [
    "outside Jayden's house",  # a possessive: whose house is who
    "outside jaydens house",  # a word that is not a place word
    "14 Wobblewick Lane",  # a house number
    "near CB4 7QZ",  # a postcode
    "Mill Road",  # a street name is a name too: when in doubt, nothing
    "he was jumped by 3 lads at the bus station",  # a narrative
    "says it happened outside school",
    "the",  # not a place
    "park " * 20,  # too long
    "park; drop table",
    "",
])
def test_a_description_that_is_not_purely_a_place_is_dropped(text: str, attendance: Make,
                                                             codes: IstvCodes) -> None:
    obs = answer("ASSAULT_LOCATION", text=text, value_type="text")
    assert assault_location(attendance(observations=[obs]), codes)[1] is None


def test_notes_are_never_read_for_the_description(attendance: Make, codes: IstvCodes) -> None:
    triage = answer("TRIAGE", text="park", value_type="text")  # a free-text question, not a location one
    assert assault_location(attendance(observations=[triage]), codes) == ("not_known", None)


# --- assault date and time -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected_date", "expected_time"), [
    ("20260110181500", date(2026, 1, 10), time(18, 15)),  # HL7 TS, no offset: local time
    ("202601101815", date(2026, 1, 10), time(18, 15)),
    ("20260110181500+0000", date(2026, 1, 10), time(18, 15)),
    ("20260609231500+0000", date(2026, 6, 10), time(0, 15)),  # British Summer Time: the next day
    ("2026-06-09T23:15:00Z", date(2026, 6, 10), time(0, 15)),  # FHIR dateTime
    ("2026-01-10T18:15:00", date(2026, 1, 10), time(18, 15)),
    ("20260110", date(2026, 1, 10), None),  # a date alone
    ("2026-01-10", date(2026, 1, 10), None),
])
def test_parse_moment(text: str, expected_date: date, expected_time: time | None) -> None:
    moment = parse_moment(text, LONDON)
    assert moment is not None and (moment.date, moment.time) == (expected_date, expected_time)


@pytest.mark.parametrize("text", ["", "yesterday evening", "18:15", "20261310", "2026-02-30", "2026"])
def test_parse_moment_refuses_what_is_not_a_date(text: str) -> None:
    assert parse_moment(text, LONDON) is None


def test_assault_time_from_the_answer_and_never_after_arrival(attendance: Make, codes: IstvCodes) -> None:
    before = answer("ASSAULT_DATETIME", text="20260110181500", value_type="TS")
    after = answer("ASSAULT_DATETIME", text="20260110203000", value_type="TS")
    day_only = answer("INJURY_DATE", text="20260110", value_type="DT")
    moment = assault_moment(attendance(observations=[day_only, before]), codes, LONDON)
    assert moment is not None and (moment.date, moment.time) == (date(2026, 1, 10), time(18, 15))
    assert assault_moment(attendance(observations=[after]), codes, LONDON) is None
    only_day = assault_moment(attendance(observations=[after, day_only]), codes, LONDON)
    assert only_day is not None and (only_day.date, only_day.time) == (date(2026, 1, 10), None)
    assert assault_moment(attendance(), codes, LONDON) is None


# --- extras ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("age", "band"), [(0, "0-4"), (4, "0-4"), (5, "5-9"), (9, "5-9"), (10, "10-14"),
                                           (14, "10-14"), (15, "15-17"), (17, "15-17"), (None, "not known")])
def test_age_band(age: int | None, band: str) -> None:
    assert age_band(age) == band


def test_age_is_taken_on_the_local_arrival_date(attendance: Make, codes: IstvCodes) -> None:
    # 23:30 UTC on 31 May is 1 June in London: the 15th birthday has come.
    late = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)
    row = to_row(attendance(birth_date=date(2011, 6, 1), arrival=late), codes, LONDON)
    assert row is not None and row.age_band == "15-17" and row.arrival_date == date(2026, 6, 1)
    assert row.arrival_time == "00:30"


def test_an_adult_is_left_out_and_an_unknown_age_is_not(attendance: Make, codes: IstvCodes) -> None:
    assert to_row(attendance(birth_date=date(2008, 1, 10)), codes, LONDON) is None  # 18 on arrival
    assert to_row(attendance(birth_date=date(2008, 1, 11)), codes, LONDON) is not None  # 17
    row = to_row(attendance(birth_date=None), codes, LONDON)
    assert row is not None and row.age_band == "not known"


@pytest.mark.parametrize(("recorded", "exported"), [("male", "male"), ("female", "female"), ("other", "other"),
                                                    ("unknown", "not known"), (None, "not known"),
                                                    ("X", "not known")])
def test_sex_as_recorded(recorded: str | None, exported: str, attendance: Make, codes: IstvCodes) -> None:
    row = to_row(attendance(sex=recorded), codes, LONDON)
    assert row is not None and row.sex == exported


def test_number_of_assailants(attendance: Make, codes: IstvCodes) -> None:
    def count(*observations: object) -> int | None:
        return number_of_assailants(attendance(observations=list(observations)), codes)

    assert count(answer("ASSAILANTS", number=3, value_type="numeric")) == 3
    assert count(answer("NUM_ASSAILANTS", text="2", value_type="text")) == 2
    assert count(answer("ASSAILANTS", number=1, value_type="numeric"),
                 answer("ASSAILANT_COUNT", number=4, value_type="numeric")) == 4
    assert count(answer("ASSAILANTS", text="several", value_type="text")) is None
    assert count(answer("ASSAILANTS", number=0, value_type="numeric")) is None
    assert count(answer("ASSAILANTS", number=2.5, value_type="numeric")) is None
    assert count(answer("ASSAILANTS", number=400, value_type="numeric")) is None
    assert count() is None


def test_weapon(attendance: Make, codes: IstvCodes) -> None:
    def said(*observations: object, method: str = "not_known", flag: bool = False) -> str:
        return weapon(attendance(observations=list(observations), weapon_flag=flag), codes, method)

    assert said(answer("WEAPON", text="Y", value_type="text")) == "yes"
    assert said(answer("WEAPON", code=coding("N", "HL70136", "No"))) == "no"
    assert said(answer("WEAPON_USED", text="false", value_type="boolean")) == "no"  # FHIR valueBoolean
    assert said(answer("WEAPON", code=coding("KNIFE"))) == "yes"
    assert said(answer("ASSAULT_METHOD", code=coding("FIST"))) == "no"
    assert said(method="blunt_object") == "yes"
    assert said(flag=True) == "yes"  # the weapon rule fired on this attendance
    assert said(answer("WEAPON", text="No", value_type="text"), flag=True) == "yes"  # yes wins
    assert said(method="body_part") == "not known"
    assert said() == "not known"


def test_a_whole_row(attendance: Make, codes: IstvCodes) -> None:
    att = attendance(
        diagnoses=[coding("Y04.0", "I10", "Assault by bodily force")],
        observations=[
            answer("ASSAILANTS", number=2, value_type="numeric"),
            answer("WEAPON", code=coding("KNIFE", display="Knife or bladed article")),
            answer("ASSAULT_DATETIME", text="20260110181500", value_type="TS"),
            answer("ASSAULT_LOCATION_TYPE", code=coding("PARK", display="Park or playground")),
            answer("ASSAULT_LOCATION", text="outside the park gates", value_type="text"),
            answer("TRIAGE", text="Says Ossian Flintwhistle cut him at 27 Wobblewick Lane", value_type="text"),
        ])
    row = to_row(att, codes, LONDON)
    assert row is not None
    assert row.model_dump(mode="json") == {
        "site_code": "RGT01", "arrival_date": "2026-01-10", "arrival_time": "19:28",
        "assault_date": "2026-01-10", "assault_time": "18:15",
        "assault_method": "knife_or_sharp_object", "assault_method_other_description": None,
        "assault_location_type": "park_or_open_space", "assault_location_description": "outside the park gates",
        "number_of_assailants": 2, "weapon": "yes", "age_band": "10-14", "sex": "male",
    }
