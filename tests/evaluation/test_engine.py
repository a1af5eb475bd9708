"""The engine: each predicate type on its own, then each rule of the real pack on realistic attendances.

Attendances are built by `make_context(**overrides)`; a tiny fake stands in for the clinical NLP
detector (the real one is tested with its own corpus).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ed_alerts.domain import Address, Attendance, Coding, FreeText, Observation, Patient, SourceType
from ed_alerts.evaluation import (
    DEFAULT_RULES_DIR,
    EvaluationContext,
    EvidenceKind,
    FlagResult,
    RulePack,
    RulePackError,
    Severity,
    TextDetector,
    check_text_concepts,
    evaluate,
    load_pack,
)
from ed_alerts.evaluation.conditions import parse_condition
from ed_alerts.evaluation.predicates import Run, evaluate_predicate
from ed_alerts.evaluation.results import Match

ARRIVAL = datetime(2025, 6, 1, 14, 30, tzinfo=UTC)
FIFTEEN = date(2010, 3, 14)


# --- builders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeFinding:
    concept: str
    matched_text: str
    start: int
    end: int
    uncertain: bool = False
    excluded_reason: str | None = None


class FakeDetector:
    """Finds fixed phrases; each phrase maps to (concept, uncertain, excluded_reason)."""

    def __init__(self, phrases: dict[str, tuple[str, bool, str | None]]) -> None:
        self.phrases = phrases
        self.calls: list[str] = []

    def detect(self, text: str) -> Sequence[FakeFinding]:
        self.calls.append(text)
        found = []
        for phrase, (concept, uncertain, excluded) in self.phrases.items():
            start = text.lower().find(phrase.lower())
            if start >= 0:
                found.append(
                    FakeFinding(
                        concept,
                        text[start : start + len(phrase)],
                        start,
                        start + len(phrase),
                        uncertain,
                        excluded,
                    )
                )
        return found


def earlier(*days_ago: float) -> Callable[[timedelta], int]:
    """A prior-attendance counter over earlier arrivals this many days before ARRIVAL."""
    arrivals = [ARRIVAL - timedelta(days=d) for d in days_ago]
    return lambda window: sum(1 for when in arrivals if ARRIVAL - window <= when < ARRIVAL)


def icd10(code: str, display: str | None = None) -> Coding:
    return Coding(system="icd10", code=code, display=display)


def snomed(code: str, display: str | None = None) -> Coding:
    return Coding(system="snomed", code=code, display=display)


def obs(
    code: str,
    *,
    text: str | None = None,
    number: float | None = None,
    value_code: Coding | None = None,
    display: str | None = None,
) -> Observation:
    value_type = "numeric" if number is not None else "coded" if value_code is not None else "text"
    return Observation(
        code=Coding(system="local", code=code, display=display),
        value_type=value_type,
        value_text=text,
        value_number=number,
        value_code=value_code,
    )


def nte(text: str, source: str = "NTE") -> FreeText:
    return FreeText(source=source, text=text)


def make_context(
    *,
    birth_date: date | None = FIFTEEN,
    postcode: str | None = "CB1 2AB",
    prior: Callable[[timedelta], int] | None = None,
    detector: TextDetector | None = None,
    site_area: Iterable[str] = ("CB1", "CB2", "CB3"),
    source_type: SourceType | None = SourceType.HOSPITAL_ED,
    **attendance: Any,
) -> EvaluationContext:
    """A 15-year-old from CB1 at a Cambridge ED with nothing of note, unless told otherwise."""
    patient = Patient(
        family_name="SYNTHETIC",
        given_names=["Test"],
        birth_date=birth_date,
        address=Address(postcode=postcode) if postcode is not None else None,
    )
    attendance.setdefault("visit_number", "V0001")
    attendance.setdefault("arrival_time", ARRIVAL)
    return EvaluationContext(
        patient=patient,
        attendance=Attendance(**attendance),
        arrival=ARRIVAL,
        count_prior_attendances=prior or earlier(),
        source_type=source_type,
        site_area=tuple(site_area),
        text_detector=detector,
    )


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_pack()


def check(pack: RulePack, condition: dict[str, Any], ctx: EvaluationContext) -> Match:
    """Evaluate one condition written as in a rule file, against the real pack's value sets."""
    return evaluate_predicate(parse_condition(condition, "conditions", set(pack.valuesets)), Run(pack, ctx))


def flag(flags: list[FlagResult], rule_id: str) -> FlagResult:
    found = [f for f in flags if f.rule_id == rule_id]
    assert found, f"{rule_id} did not fire; fired: {[f.rule_id for f in flags]}"
    return found[0]


def ids(flags: list[FlagResult]) -> set[str]:
    return {f.rule_id for f in flags}


# --- coded_value_in --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["Y04", "Y04.0", "y04.0", "Y040", "X85", "X99", "X99.1", "Y09", "Y09X", "Y06.1"]
)
def test_icd10_assault_range_by_prefix(pack: RulePack, code: str) -> None:
    match = check(
        pack, {"type": "coded_value_in", "valueset": "assault-icd10"}, make_context(diagnoses=[icd10(code)])
    )
    assert match.matched
    assert match.evidence[0].code == code and match.evidence[0].valueset == "assault-icd10"


@pytest.mark.parametrize("code", ["W01", "X84", "Y10", "Y35", "S01.0", "V12"])
def test_icd10_outside_assault_does_not_match(pack: RulePack, code: str) -> None:
    match = check(
        pack, {"type": "coded_value_in", "valueset": "assault-icd10"}, make_context(diagnoses=[icd10(code)])
    )
    assert not match.matched


@pytest.mark.parametrize(
    ("code", "hit"),
    [
        ("X93", True),
        ("X94.2", True),
        ("X95", True),
        ("X96", False),
        ("W33", True),
        ("W35", False),
        ("W26", False),
        ("Y23", True),
        ("Y28", True),
    ],
)
def test_icd10_ranges_in_value_set_entries(pack: RulePack, code: str, hit: bool) -> None:
    match = check(
        pack, {"type": "coded_value_in", "valueset": "weapon-icd10"}, make_context(diagnoses=[icd10(code)])
    )
    assert match.matched is hit


def test_code_display_prefers_the_message_then_the_value_set(pack: RulePack) -> None:
    condition = {"type": "coded_value_in", "valueset": "assault-icd10"}
    from_message = check(
        pack, condition, make_context(diagnoses=[icd10("Y04.0", "Assault by bodily force, fight")])
    )
    assert from_message.evidence[0].description == "diagnosis Y04.0 (Assault by bodily force, fight)"
    from_valueset = check(pack, condition, make_context(diagnoses=[icd10("Y04")]))
    assert from_valueset.evidence[0].description == "diagnosis Y04 (Assault by bodily force)"
    assert (
        from_valueset.evidence[0].kind is EvidenceKind.CODE
        and from_valueset.evidence[0].source == "diagnosis"
    )


@pytest.mark.parametrize("system", ["I10", "ICD10", "http://hl7.org/fhir/sid/icd-10-uk"])
def test_feed_spellings_of_icd10(pack: RulePack, system: str) -> None:
    ctx = make_context(diagnoses=[Coding(system=system, code="Y04")])
    assert check(pack, {"type": "coded_value_in", "valueset": "assault-icd10"}, ctx).matched


def test_code_system_must_agree(pack: RulePack) -> None:
    # "X99" as a local code is not ICD-10 X99; a SNOMED id sent as ICD-10 is not SNOMED.
    assert not check(
        pack,
        {"type": "coded_value_in", "valueset": "weapon-icd10"},
        make_context(diagnoses=[Coding(system="local", code="X99")]),
    ).matched
    assert not check(
        pack,
        {"type": "coded_value_in", "valueset": "assault-snomed"},
        make_context(diagnoses=[icd10("52684005")]),
    ).matched
    assert check(
        pack,
        {"type": "coded_value_in", "valueset": "assault-snomed"},
        make_context(diagnoses=[Coding(system="http://snomed.info/sct", code="52684005")]),
    ).matched


def test_coded_value_only_looks_in_the_named_fields(pack: RulePack) -> None:
    ctx = make_context(observations=[obs("INJ_INTENT", value_code=snomed("52684005"))])
    in_obs = check(
        pack, {"type": "coded_value_in", "valueset": "assault-snomed", "fields": ["observation_value"]}, ctx
    )
    assert in_obs.matched
    assert in_obs.evidence[0].source == "observation INJ_INTENT"
    assert in_obs.evidence[0].description == "INJ_INTENT recorded as 52684005 (Assault)"
    assert not check(
        pack, {"type": "coded_value_in", "valueset": "assault-snomed"}, ctx
    ).matched  # default fields


def test_coded_value_in_reason_code_and_observation_code(pack: RulePack) -> None:
    ctx = make_context(reason_code=snomed("283545005", "Gunshot wound"))
    match = check(
        pack, {"type": "coded_value_in", "valueset": "weapon-snomed", "fields": ["reason_code"]}, ctx
    )
    assert match.evidence[0].description == "reason code 283545005 (Gunshot wound)"
    ctx = make_context(observations=[obs("CP_PLAN", text="Y")])
    match = check(
        pack,
        {"type": "coded_value_in", "valueset": "social-care-questions", "fields": ["observation_code"]},
        ctx,
    )
    assert match.matched and match.evidence[0].code == "CP_PLAN"


# --- answer_equals / number_at_least ---------------------------------------------------------


@pytest.mark.parametrize("answer", ["N", "n", "No", "NO ", "not safe"])
def test_answer_equals_ignores_case(pack: RulePack, answer: str) -> None:
    ctx = make_context(observations=[obs("FEELS_SAFE", text=answer)])
    match = check(
        pack,
        {
            "type": "answer_equals",
            "question_valueset": "feels-safe-questions",
            "answers": ["N", "No", "Not safe"],
        },
        ctx,
    )
    assert match.matched
    assert match.evidence[0].kind is EvidenceKind.ANSWER and match.evidence[0].value == answer.strip()


def test_answer_from_a_coded_value_and_a_single_question_code(pack: RulePack) -> None:
    ctx = make_context(
        observations=[
            obs(
                "FEELS_SAFE",
                display="Do you feel safe?",
                value_code=Coding(system="HL70136", code="N", display="No"),
            )
        ]
    )
    match = check(pack, {"type": "answer_equals", "question": "feels_safe", "answers": ["no"]}, ctx)
    assert match.matched
    assert match.evidence[0].description in (
        "answered 'N' to Do you feel safe? (FEELS_SAFE)",
        "answered 'No' to Do you feel safe? (FEELS_SAFE)",
    )


def test_answer_equals_near_misses(pack: RulePack) -> None:
    condition = {"type": "answer_equals", "question": "FEELS_SAFE", "answers": ["N", "No"]}
    assert not check(pack, condition, make_context(observations=[obs("FEELS_SAFE", text="Y")])).matched
    assert not check(pack, condition, make_context(observations=[obs("PAIN_SCORE", text="No")])).matched
    assert not check(pack, condition, make_context(observations=[obs("FEELS_SAFE")])).matched


@pytest.mark.parametrize(
    ("number", "text", "hit"),
    [
        (3, None, True),
        (2, None, True),
        (1, None, False),
        (None, "2", True),
        (None, "1", False),
        (None, "several", False),
    ],
)
def test_number_at_least(pack: RulePack, number: float | None, text: str | None, hit: bool) -> None:
    ctx = make_context(observations=[obs("ASSAILANTS", number=number, text=text)])
    match = check(
        pack,
        {"type": "number_at_least", "question_valueset": "assailant-count-questions", "at_least": 2},
        ctx,
    )
    assert match.matched is hit
    if hit:
        assert match.evidence[0].kind is EvidenceKind.NUMBER
        assert match.evidence[0].description == f"ASSAILANTS = {number or text} (at least 2)"


# --- text_disclosure -------------------------------------------------------------------------

DISCLOSURES = FakeDetector(
    {
        "scared to go home": ("not_safe", False, None),
        "doesn't feel safe": ("not_safe", False, "other_experiencer"),
        "denies feeling unsafe": ("not_safe", False, "negated"),
        "might not be safe": ("not_safe", True, None),
        "hates school": ("school_refusal", False, None),
    }
)


def test_text_disclosure_records_source_and_offsets(pack: RulePack) -> None:
    note = "Seen with mum. Child says she is scared to go home tonight."
    ctx = make_context(reason="Head injury", notes=[nte("Triage complete"), nte(note)], detector=DISCLOSURES)
    match = check(pack, {"type": "text_disclosure", "concepts": ["not_safe"]}, ctx)
    assert match.matched
    [evidence] = match.evidence
    assert (evidence.source, evidence.source_index, evidence.concept) == ("NTE", 1, "not_safe")
    assert note[evidence.start : evidence.end] == "scared to go home" == evidence.matched_text
    assert evidence.description == "'scared to go home' in NTE"


def test_text_disclosure_in_the_reason(pack: RulePack) -> None:
    ctx = make_context(reason="Scared to go home", detector=DISCLOSURES)
    [evidence] = check(pack, {"type": "text_disclosure", "concepts": ["not_safe"]}, ctx).evidence
    assert (evidence.source, evidence.source_index, evidence.start, evidence.end) == ("reason", None, 0, 17)


@pytest.mark.parametrize(
    "text",
    ["Mum says she doesn't feel safe at home", "Denies feeling unsafe at home", "Says she hates school"],
)
def test_text_disclosure_ignores_excluded_and_other_concepts(pack: RulePack, text: str) -> None:
    ctx = make_context(notes=[nte(text)], detector=DISCLOSURES)
    assert not check(pack, {"type": "text_disclosure", "concepts": ["not_safe"]}, ctx).matched


def test_text_disclosure_uncertain(pack: RulePack) -> None:
    ctx = make_context(notes=[nte("Says she might not be safe with him")], detector=DISCLOSURES)
    match = check(pack, {"type": "text_disclosure", "concepts": ["not_safe"]}, ctx)
    assert match.matched and match.evidence[0].uncertain
    assert match.evidence[0].description.endswith("(uncertain)")
    assert not check(
        pack, {"type": "text_disclosure", "concepts": ["not_safe"], "include_uncertain": False}, ctx
    ).matched


def test_text_disclosure_without_a_detector_never_matches(pack: RulePack) -> None:
    ctx = make_context(notes=[nte("scared to go home")], detector=None)
    assert not check(pack, {"type": "text_disclosure", "concepts": ["not_safe"]}, ctx).matched


def test_detector_runs_once_per_text_per_evaluation(pack: RulePack) -> None:
    detector = FakeDetector({"scared to go home": ("not_safe", False, None)})
    ctx = make_context(reason="Fall", notes=[nte("scared to go home")], detector=detector)
    evaluate(pack, ctx)
    assert sorted(detector.calls) == ["Fall", "scared to go home"]


# --- text_mentions ---------------------------------------------------------------------------

WEAPON_WORDS = {
    "type": "text_mentions",
    "label": "weapon word",
    "phrases": ["knife|knives", "stabbed", "(?<!shoulder\\s)blades?"],
}


def test_text_mentions_offsets_and_label(pack: RulePack) -> None:
    note = "Says he was threatened with a KNIFE outside the shop."
    [evidence] = check(pack, WEAPON_WORDS, make_context(notes=[nte(note)])).evidence
    assert note[evidence.start : evidence.end] == "KNIFE" == evidence.matched_text
    assert evidence.description == "weapon word 'KNIFE' in NTE"


@pytest.mark.parametrize(
    "text",
    [
        "Denies any knife involved.",
        "No knife seen.",
        "Not stabbed, fell onto railings.",
        "Pain over left shoulder blade",
        "Used a butter knifes",
    ],
)
def test_text_mentions_near_misses(pack: RulePack, text: str) -> None:
    assert not check(pack, WEAPON_WORDS, make_context(reason=text)).matched


@pytest.mark.parametrize(
    "text",
    [
        "No LOC. Stabbed in left thigh.",
        "Not sure what happened, then he was stabbed",
        "Stabbed, denies other injuries",
    ],
)
def test_negation_is_limited_to_the_sentence_and_a_few_words_before(pack: RulePack, text: str) -> None:
    match = check(pack, WEAPON_WORDS, make_context(reason=text))
    assert match.matched and (match.evidence[0].matched_text or "").lower() == "stabbed"


@pytest.mark.parametrize("text", ["Gunshot wound to thigh", "gun shot wound", "GSW? gunshot", "gun  shot"])
def test_an_optional_space_in_a_phrase_matches_no_space(pack: RulePack, text: str) -> None:
    assert check(pack, {"type": "text_mentions", "phrases": ["gun ?shot"]}, make_context(reason=text)).matched


def test_text_mentions_reads_the_reason_and_every_note_in_order(pack: RulePack) -> None:
    ctx = make_context(
        reason="stabbed", notes=[nte("no weapon seen"), nte("knife wound to arm", source="OBX-5")]
    )
    match = check(pack, WEAPON_WORDS, ctx)
    assert [(e.source, e.source_index, e.matched_text) for e in match.evidence] == [
        ("reason", None, "stabbed"),
        ("OBX-5", 1, "knife"),
    ]


# --- prior_attendances -----------------------------------------------------------------------


def test_prior_attendances_asks_for_the_window(pack: RulePack) -> None:
    asked: list[timedelta] = []

    def counter(window: timedelta) -> int:
        asked.append(window)
        return 2

    match = check(
        pack, {"type": "prior_attendances", "at_least": 2, "within": "365d"}, make_context(prior=counter)
    )
    assert asked == [timedelta(days=365)]
    assert match.evidence[0].kind is EvidenceKind.PRIOR_ATTENDANCES
    assert match.evidence[0].description == "2 earlier attendances in the last 365 days"


def test_prior_attendances_below_threshold(pack: RulePack) -> None:
    ctx = make_context(prior=earlier(30))
    assert not check(pack, {"type": "prior_attendances", "at_least": 2, "within": "365d"}, ctx).matched


# --- home_out_of_area, age_band, source_type_in ----------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "area", "hit"),
    [
        ("PE13 1AA", ["CB1", "CB2"], True),
        ("cb1 2ab", ["cb1"], False),
        ("CB12AB", ["CB1"], False),
        ("CB10 1AA", ["CB1"], True),  # CB10 is a different district from CB1
        ("CB10 1AA", ["CB"], False),  # a bare area covers all its districts
        ("PE13", ["CB1"], True),  # an outward code alone is enough
        ("not a postcode", ["CB1"], False),
        ("ZZ99 3VZ", ["CB1"], False),  # NHS pseudo-postcode: no fixed abode
        ("PE13 1AA", [], False),  # a site without an area proves nothing
    ],
)
def test_home_out_of_area(pack: RulePack, postcode: str, area: list[str], hit: bool) -> None:
    match = check(pack, {"type": "home_out_of_area"}, make_context(postcode=postcode, site_area=area))
    assert match.matched is hit


def test_home_out_of_area_evidence_keeps_only_the_district(pack: RulePack) -> None:
    [evidence] = check(pack, {"type": "home_out_of_area"}, make_context(postcode="PE13 1AA")).evidence
    assert evidence.kind is EvidenceKind.ADDRESS and evidence.value == "PE13"
    assert "1AA" not in evidence.description


def test_unknown_address_is_not_out_of_area(pack: RulePack) -> None:
    assert not check(pack, {"type": "home_out_of_area"}, make_context(postcode=None)).matched


@pytest.mark.parametrize(
    ("birth", "hit"),
    [
        (date(2010, 3, 14), True),
        (date(2015, 6, 2), False),
        (date(2015, 6, 1), True),
        (date(2007, 6, 1), False),
    ],
)
def test_age_band(pack: RulePack, birth: date, hit: bool) -> None:
    match = check(
        pack, {"type": "age_band", "min_years": 10, "max_years": 17}, make_context(birth_date=birth)
    )
    assert match.matched is hit


def test_age_band_with_unknown_birth_date_matches_and_says_so(pack: RulePack) -> None:
    match = check(pack, {"type": "age_band", "min_years": 10}, make_context(birth_date=None))
    assert match.matched and match.evidence[0].kind is EvidenceKind.AGE
    assert "unknown" in match.evidence[0].description


def test_source_type_in(pack: RulePack) -> None:
    condition = {"type": "source_type_in", "sources": ["ambulance", "minor_injury_unit"]}
    assert check(pack, condition, make_context(source_type=SourceType.AMBULANCE)).matched
    assert not check(pack, condition, make_context(source_type=SourceType.HOSPITAL_ED)).matched
    assert not check(pack, condition, make_context(source_type=None)).matched


# --- all / any / not -------------------------------------------------------------------------


def test_all_any_not_compose(pack: RulePack) -> None:
    ctx = make_context(
        source_type=SourceType.AMBULANCE, observations=[obs("ASSAILANTS", number=3)], reason="stabbed"
    )
    condition = {
        "all": [
            {"type": "source_type_in", "sources": ["ambulance"]},
            {"any": [{"type": "number_at_least", "question": "ASSAILANTS", "at_least": 2}, WEAPON_WORDS]},
            {"not": {"type": "home_out_of_area"}},
        ]
    }
    match = check(pack, condition, ctx)
    assert match.matched
    assert [e.kind for e in match.evidence] == [EvidenceKind.SOURCE, EvidenceKind.NUMBER, EvidenceKind.TEXT]
    assert not check(pack, {"not": condition}, ctx).matched
    assert not check(
        pack, {"all": [{"type": "source_type_in", "sources": ["hospital_ed"]}, WEAPON_WORDS]}, ctx
    ).matched


# --- the rules, on realistic attendances -----------------------------------------------------


def test_assault_by_diagnosis(pack: RulePack) -> None:
    ctx = make_context(
        reason="Facial injury", diagnoses=[icd10("S02.2", "Fracture of nasal bones"), icd10("Y04")]
    )
    result = flag(evaluate(pack, ctx), "assault")
    assert result.reason == "Assault: diagnosis Y04 (Assault by bodily force)"
    assert (result.rule_version, result.severity) == (1, Severity.HIGH)
    assert result.requires_decision and result.decision_due == timedelta(hours=4)
    assert not result.uncertain


def test_assault_by_ecds_injury_intent(pack: RulePack) -> None:
    ctx = make_context(observations=[obs("INJ_INTENT", value_code=snomed("52684005", "Assault"))])
    assert flag(evaluate(pack, ctx), "assault").evidence[0].source == "observation INJ_INTENT"


def test_assault_by_presenting_complaint(pack: RulePack) -> None:
    ctx = make_context(reason="Punched in face by another pupil at school")
    result = flag(evaluate(pack, ctx), "assault")
    assert result.reason == "Assault: assault word 'Punched' in reason"
    assert (result.evidence[0].start, result.evidence[0].end) == (0, 7)


def test_assault_near_misses(pack: RulePack) -> None:
    adult = make_context(birth_date=date(1990, 1, 1), diagnoses=[icd10("Y04")], reason="assaulted")
    assert evaluate(pack, adult) == []
    accident = make_context(
        reason="Slipped in the playground, wrist pain", diagnoses=[icd10("W01"), icd10("S52.5")]
    )
    assert evaluate(pack, accident) == []
    wall = make_context(reason="Punched a wall in frustration, swollen knuckles")
    assert "assault" not in ids(evaluate(pack, wall))
    denies = make_context(reason="Fell off bike. Denies being assaulted.")
    assert "assault" not in ids(evaluate(pack, denies))
    dog = make_context(reason="Attacked by a dog in the park, bite to calf")
    assert "assault" not in ids(evaluate(pack, dog))


def test_group_violence_by_assailant_count(pack: RulePack) -> None:
    ctx = make_context(
        reason="Assault", observations=[obs("ASSAILANTS", number=3, display="Number of assailants")]
    )
    result = flag(evaluate(pack, ctx), "group_violence")
    assert result.reason == "Group violence: Number of assailants (ASSAILANTS) = 3 (at least 2)"
    assert result.evidence[0].source == "observation ASSAILANTS"


@pytest.mark.parametrize(
    "text",
    [
        "Jumped by 3 lads on the way home",
        "assaulted by a group",
        "States two boys attacked him in the park",
        "Set upon by a gang of youths",
        "several youths involved",
    ],
)
def test_group_violence_by_text(pack: RulePack, text: str) -> None:
    assert "group_violence" in ids(evaluate(pack, make_context(notes=[nte(text)])))


@pytest.mark.parametrize(
    "observations,text",
    [
        ([obs("ASSAILANTS", number=1)], "Punched by another boy"),
        ([], "Attacked by a boy he knows from school"),
        ([], "Jumped by 1 lad"),
        ([], "Was out with a group of friends, fell off a wall"),
    ],
)
def test_group_violence_near_misses(pack: RulePack, observations: list[Observation], text: str) -> None:
    assert "group_violence" not in ids(evaluate(pack, make_context(observations=observations, reason=text)))


def test_does_not_feel_safe_by_answer(pack: RulePack) -> None:
    ctx = make_context(observations=[obs("FEELS_SAFE", text="N")])
    result = flag(evaluate(pack, ctx), "does_not_feel_safe")
    assert result.severity is Severity.CRITICAL and result.decision_due == timedelta(hours=1)
    assert result.reason == "Does not feel safe: answered 'N' to FEELS_SAFE"


def test_does_not_feel_safe_by_disclosure(pack: RulePack) -> None:
    ctx = make_context(
        reason="Minor head injury",
        notes=[nte("Pt tearful, says she is scared to go home")],
        detector=DISCLOSURES,
    )
    result = flag(evaluate(pack, ctx), "does_not_feel_safe")
    assert result.reason == "Does not feel safe: 'scared to go home' in NTE"
    assert result.evidence[0].concept == "not_safe"
    assert not result.uncertain


def test_does_not_feel_safe_near_misses(pack: RulePack) -> None:
    negated = make_context(notes=[nte("Denies feeling unsafe at home")], detector=DISCLOSURES)
    assert evaluate(pack, negated) == []
    other_person = make_context(notes=[nte("Mum says she doesn't feel safe at home")], detector=DISCLOSURES)
    assert evaluate(pack, other_person) == []
    feels_safe = make_context(observations=[obs("FEELS_SAFE", text="Y")])
    assert evaluate(pack, feels_safe) == []


def test_hedged_disclosure_raises_an_uncertain_flag(pack: RulePack) -> None:
    ctx = make_context(notes=[nte("Says she might not be safe at her dad's")], detector=DISCLOSURES)
    result = flag(evaluate(pack, ctx), "does_not_feel_safe")
    assert result.uncertain
    # A certain answer alongside the hedged words makes the flag certain.
    ctx = make_context(
        notes=[nte("Says she might not be safe at her dad's")],
        detector=DISCLOSURES,
        observations=[obs("FEELS_SAFE", text="No")],
    )
    assert not flag(evaluate(pack, ctx), "does_not_feel_safe").uncertain


@pytest.mark.parametrize(
    ("days", "hit"),
    [
        ((100, 300), True),
        ((10,), True),
        ((200,), False),
        ((100, 400), False),
        ((27.9,), True),
        ((28.1,), False),
        ((), False),
    ],
)
def test_repeat_attendance_windows(pack: RulePack, days: tuple[float, ...], hit: bool) -> None:
    flags = evaluate(pack, make_context(prior=earlier(*days)))
    assert ("repeat_attendance" in ids(flags)) is hit


def test_repeat_attendance_reason(pack: RulePack) -> None:
    result = flag(evaluate(pack, make_context(prior=earlier(10, 150))), "repeat_attendance")
    assert result.reason == (
        "Repeat attendance: 2 earlier attendances in the last 365 days; "
        "1 earlier attendance in the last 28 days"
    )
    assert result.severity is Severity.MEDIUM


def test_weapon_by_code(pack: RulePack) -> None:
    result = flag(evaluate(pack, make_context(diagnoses=[icd10("X99.0")])), "weapon")
    assert result.reason == "Weapon injury: diagnosis X99.0 (Assault by sharp object)"
    assert result.severity is Severity.CRITICAL
    assert "assault" in ids(
        evaluate(pack, make_context(diagnoses=[icd10("X99.0")]))
    )  # X99 is also an assault
    gunshot = make_context(diagnoses=[snomed("283545005")])
    assert flag(evaluate(pack, gunshot), "weapon").evidence[0].display == "Gunshot wound"


def test_weapon_by_answer_and_text(pack: RulePack) -> None:
    assert "weapon" in ids(evaluate(pack, make_context(observations=[obs("WEAPON_USED", text="Knife")])))
    result = flag(
        evaluate(pack, make_context(notes=[nte("Stabbed in the leg outside the chicken shop")])), "weapon"
    )
    assert result.reason == "Weapon injury: weapon word 'Stabbed' in NTE"


def test_weapon_near_misses(pack: RulePack) -> None:
    kitchen = make_context(diagnoses=[icd10("W26"), icd10("S61.0")], reason="Cut thumb on glass")
    assert evaluate(pack, kitchen) == []
    shoulder = make_context(reason="Fell from trampoline, pain over shoulder blade", diagnoses=[icd10("W09")])
    assert evaluate(pack, shoulder) == []
    nerf = make_context(reason="Hit in eye by nerf gun dart")
    assert "weapon" not in ids(evaluate(pack, nerf))
    razor = make_context(reason="Superficial razor blade cuts to forearm")
    assert "weapon" not in ids(evaluate(pack, razor))
    denies = make_context(reason="Fight at school. Denies any weapons or knives.")
    assert "weapon" not in ids(evaluate(pack, denies))


def test_known_to_social_care(pack: RulePack) -> None:
    by_answer = flag(
        evaluate(pack, make_context(observations=[obs("CP_PLAN", text="Y")])), "known_to_social_care"
    )
    assert by_answer.reason == "Known to children's social care: answered 'Y' to CP_PLAN"
    by_code = make_context(
        observations=[obs("SOCIAL_CARE_STATUS", value_code=Coding(system="L", code="LAC"))]
    )
    assert flag(evaluate(pack, by_code), "known_to_social_care").evidence[0].display == "Looked after child"
    assert (
        evaluate(pack, make_context(observations=[obs("CP_PLAN", text="N"), obs("LOOKED_AFTER", text="No")]))
        == []
    )


def test_far_from_home(pack: RulePack) -> None:
    result = flag(evaluate(pack, make_context(postcode="PE13 2XY")), "far_from_home")
    assert result.reason == "Far from home: home postcode district PE13 is outside this site's area"
    assert result.severity is Severity.MEDIUM


def test_far_from_home_near_misses(pack: RulePack) -> None:
    assert evaluate(pack, make_context(postcode="CB2 1TN")) == []
    assert evaluate(pack, make_context(postcode="PE13 2XY", birth_date=date(2017, 1, 1))) == []  # aged 8
    assert evaluate(pack, make_context(postcode=None)) == []


# --- the engine as a whole -------------------------------------------------------------------


def test_nothing_of_note_raises_nothing(pack: RulePack) -> None:
    assert evaluate(pack, make_context(reason="Sore throat")) == []


def test_age_is_counted_on_the_arrival_date(pack: RulePack) -> None:
    eighteenth_birthday = make_context(birth_date=date(2007, 6, 1), diagnoses=[icd10("Y04")])
    assert evaluate(pack, eighteenth_birthday) == []
    day_before = make_context(birth_date=date(2007, 6, 2), diagnoses=[icd10("Y04")])
    assert ids(evaluate(pack, day_before)) == {"assault"}


def test_unknown_birth_date_applies_the_rules_and_records_it(pack: RulePack) -> None:
    flags = evaluate(pack, make_context(birth_date=None, diagnoses=[icd10("Y04")], postcode="PE13 1AA"))
    assert ids(flags) == {"assault", "far_from_home"}
    for result in flags:
        assert result.evidence[-1].kind is EvidenceKind.AGE and "unknown" in result.evidence[-1].description
        assert (
            "unknown" not in result.reason
        )  # the reason says why it fired, the evidence says the age was unknown


def test_flags_are_ordered_by_severity_then_id_and_deterministic(pack: RulePack) -> None:
    ctx = make_context(
        reason="Stabbed, jumped by 3 lads",
        observations=[obs("FEELS_SAFE", text="No")],
        diagnoses=[icd10("X99")],
        prior=earlier(5),
        postcode="PE13 1AA",
    )
    flags = evaluate(pack, ctx)
    assert [f.rule_id for f in flags] == [
        "does_not_feel_safe",
        "weapon",
        "assault",
        "group_violence",
        "far_from_home",
        "repeat_attendance",
    ]
    assert evaluate(pack, ctx) == flags


def test_evidence_is_not_repeated_and_reason_is_one_line(pack: RulePack) -> None:
    ctx = make_context(reason="Stabbed with a knife, knife wound", diagnoses=[icd10("X99"), icd10("X99")])
    result = flag(evaluate(pack, ctx), "weapon")
    assert len(result.evidence) == len({(e.source, e.code, e.start) for e in result.evidence})
    assert result.reason.startswith("Weapon injury: diagnosis X99 (Assault by sharp object); ")
    assert result.reason.endswith(" more") and "\n" not in result.reason


def test_flag_result_serialises_for_storage(pack: RulePack) -> None:
    result = flag(evaluate(pack, make_context(diagnoses=[icd10("Y04")])), "assault")
    data = result.model_dump(mode="json")
    assert data["rule_id"] == "assault" and data["severity"] == "high" and data["decision_due"] == "PT4H"
    assert FlagResult.model_validate(data) == result


def test_silent_rules_are_evaluated_but_raise_nothing(tmp_path: Any) -> None:
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "trial.yaml").write_text(
        "id: trial\nversion: 1\ntitle: Trial\nrationale: r\nsource: s\nseverity: low\n"
        "conditions: {type: home_out_of_area}\nconsequences: {raise_flag: false}\n"
    )
    assert evaluate(load_pack(tmp_path), make_context(postcode="PE13 1AA")) == []


# --- contract with the real clinical NLP detector ----------------------------------------------


@pytest.fixture(scope="module")
def real_detector() -> Any:
    """The detector from `ed_alerts.evaluation.text`, or a skip when it cannot be built here.

    Its own tests own its correctness; this only checks that the pack and the detector agree.
    """
    pytest.importorskip("medspacy")
    from ed_alerts.evaluation.text import DisclosureDetector

    try:
        return DisclosureDetector.from_folder(DEFAULT_RULES_DIR / "nlp")
    except RulePackError as exc:
        pytest.skip(f"NLP rule folder does not load yet: {exc.reason}")


def test_pack_concepts_exist_in_the_real_detector(pack: RulePack, real_detector: Any) -> None:
    check_text_concepts(pack, real_detector.concepts)


def test_real_detector_drives_does_not_feel_safe(pack: RulePack, real_detector: Any) -> None:
    said = make_context(notes=[nte("Pt says she is scared to go home tonight")], detector=real_detector)
    assert "does_not_feel_safe" in ids(evaluate(pack, said))
    denied = make_context(notes=[nte("Denies feeling unsafe at home")], detector=real_detector)
    assert "does_not_feel_safe" not in ids(evaluate(pack, denied))


def test_age_turns_over_at_local_midnight(pack: RulePack) -> None:
    # 23:30 UTC on 31 May is 00:30 on 1 June in London (BST): the 18th birthday has begun.
    late = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
    ctx = make_context(birth_date=date(2007, 6, 1), diagnoses=[icd10("Y04")])
    assert evaluate(pack, replace(ctx, arrival=late)) == []
    assert ids(evaluate(pack, replace(ctx, arrival=late.replace(tzinfo=None)))) == {
        "assault"
    }  # naive = local
