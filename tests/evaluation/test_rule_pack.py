"""Loading the rule pack: the real pack is valid, and every kind of bad pack names file, field and reason."""

from __future__ import annotations

import shutil
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from ed_alerts.evaluation import (
    DEFAULT_RULES_DIR,
    RulePackError,
    Severity,
    check_text_concepts,
    load_pack,
    summarise_pack,
)
from ed_alerts.evaluation.conditions import walk
from ed_alerts.evaluation.schema import AnswerEquals, AnyOf, TextDisclosure, TextMentions

EXPECTED_RULES = {
    "assault",
    "group_violence",
    "does_not_feel_safe",
    "repeat_attendance",
    "weapon",
    "known_to_social_care",
    "far_from_home",
}

GOOD_VALUESET = """\
id: demo-icd10
title: Demo codes
system: icd10
source: made up for a test
codes:
  - {code: Y04, display: Assault by bodily force}
  - X85-Y09
"""

GOOD_RULE = """\
id: demo
version: 1
title: Demo
rationale: because a test needs one
source: this test
severity: high
conditions:
  any:
    - type: coded_value_in
      valueset: demo-icd10
    - type: text_mentions
      phrases: [punched]
consequences:
  requires_decision: true
  decision_due: 4h
"""


def write_pack(root: Path, rules: dict[str, str], valuesets: dict[str, str] | None = None) -> Path:
    (root / "pack").mkdir(parents=True, exist_ok=True)
    (root / "valuesets").mkdir(parents=True, exist_ok=True)
    for name, text in rules.items():
        (root / "pack" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    for name, text in (valuesets if valuesets is not None else {"demo-icd10.yaml": GOOD_VALUESET}).items():
        (root / "valuesets" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def load_error(root: Path) -> RulePackError:
    with pytest.raises(RulePackError) as caught:
        load_pack(root)
    return caught.value


# --- the real pack ---------------------------------------------------------------------------


def test_real_pack_loads_with_the_seven_rules() -> None:
    pack = load_pack()
    assert {rule.id for rule in pack.rules} == EXPECTED_RULES
    assert [rule.id for rule in pack.rules] == sorted(EXPECTED_RULES)  # deterministic order
    for rule in pack.rules:
        assert rule.version >= 1
        assert rule.rationale.strip() and rule.source.strip()
        assert pack.rule_files[rule.id].endswith(f"{rule.id}.yaml")


def test_real_pack_consequences_and_ages() -> None:
    pack = load_pack(DEFAULT_RULES_DIR)
    assert pack.rule("assault").consequences.decision_due == timedelta(hours=4)
    assert pack.rule("weapon").severity is Severity.CRITICAL
    assert pack.rule("far_from_home").severity is Severity.MEDIUM
    assert (pack.rule("far_from_home").ages.min, pack.rule("far_from_home").ages.max) == (10, 17)
    assert (pack.rule("assault").ages.min, pack.rule("assault").ages.max) == (0, 17)
    assert all(rule.consequences.requires_decision for rule in pack.rules)


def test_real_pack_value_sets_name_system_and_source() -> None:
    pack = load_pack()
    for valueset in pack.valuesets.values():
        assert valueset.source.strip()
        assert pack.valueset_files[valueset.id].endswith(f"{valueset.id}.yaml")
    assert len(pack.valuesets["assault-icd10"].codes) == 25


def test_unquoted_no_in_yaml_stays_an_answer() -> None:
    # YAML 1.1 would read `No` as false; the feels-safe answers must survive as text.
    answers = next(
        node
        for node in walk(load_pack().rule("does_not_feel_safe").conditions)
        if isinstance(node, AnswerEquals)
    ).answers
    assert "No" in answers and "N" in answers


def test_summary_lists_rules_predicates_consequences_and_value_sets() -> None:
    text = summarise_pack(load_pack())
    for rule_id in EXPECTED_RULES:
        assert rule_id in text
    assert "assault v1: Assault" in text
    assert "severity critical; ages 0-17" in text
    assert "ages 10-17" in text
    assert "predicates: coded_value_in, text_mentions" in text
    assert "referral decision required within 4h" in text
    assert "assault-icd10 (icd10, 25 codes)" in text
    assert "weapon-icd10 (icd10, 5 codes incl. 3 ranges)" in text


def test_digest_identifies_the_exact_files(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_RULES_DIR / "pack", tmp_path / "pack")
    shutil.copytree(DEFAULT_RULES_DIR / "valuesets", tmp_path / "valuesets")
    before = load_pack(tmp_path).digest
    assert before == load_pack(DEFAULT_RULES_DIR).digest
    path = tmp_path / "pack" / "assault.yaml"
    path.write_text(path.read_text().replace("version: 1", "version: 2"))
    assert load_pack(tmp_path).digest != before


def test_minimal_pack_loads(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path, {"demo.yaml": GOOD_RULE}))
    rule = pack.rule("demo")
    assert rule.consequences.decision_due == timedelta(hours=4)
    assert isinstance(rule.conditions, AnyOf) and isinstance(rule.conditions.of[1], TextMentions)


# --- invalid packs -----------------------------------------------------------------------------


def test_missing_field(tmp_path: Path) -> None:
    error = load_error(write_pack(tmp_path, {"demo.yaml": GOOD_RULE.replace("title: Demo\n", "")}))
    assert error.file.endswith("pack/demo.yaml")
    assert error.field == "title"
    assert "missing" in error.reason
    assert "demo.yaml: title: required field is missing" in str(error)


def test_bad_severity(tmp_path: Path) -> None:
    error = load_error(
        write_pack(tmp_path, {"demo.yaml": GOOD_RULE.replace("severity: high", "severity: urgent")})
    )
    assert (Path(error.file).name, error.field) == ("demo.yaml", "severity")
    assert "'urgent'" in error.reason and "critical" in error.reason


def test_unknown_predicate_type(tmp_path: Path) -> None:
    error = load_error(
        write_pack(tmp_path, {"demo.yaml": GOOD_RULE.replace("type: text_mentions", "type: text_contains")})
    )
    assert error.field == "conditions.any[1].type"
    assert "unknown predicate type 'text_contains'" in error.reason
    assert "text_mentions" in error.reason  # says what would have been valid


def test_condition_without_type(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace(
        "    - type: text_mentions\n      phrases: [punched]\n", "    - phrases: [punched]\n"
    )
    error = load_error(write_pack(tmp_path, {"demo.yaml": rule}))
    assert error.field == "conditions.any[1]"
    assert "missing 'type'" in error.reason


def test_unknown_value_set(tmp_path: Path) -> None:
    error = load_error(
        write_pack(tmp_path, {"demo.yaml": GOOD_RULE.replace("valueset: demo-icd10", "valueset: nope")})
    )
    assert error.field == "conditions.any[0].valueset"
    assert "unknown value set 'nope'" in error.reason and "demo-icd10" in error.reason


def test_duplicate_rule_id(tmp_path: Path) -> None:
    error = load_error(write_pack(tmp_path, {"a.yaml": GOOD_RULE, "b.yaml": GOOD_RULE}))
    assert error.file.endswith("b.yaml")
    assert error.field == "id"
    assert "duplicate rule id 'demo'" in error.reason and "a.yaml" in error.reason


@pytest.mark.parametrize("bad", ["4 hours", "4", "0h", "4.5h", "-1d", "soon"])
def test_bad_duration(tmp_path: Path, bad: str) -> None:
    error = load_error(
        write_pack(tmp_path, {"demo.yaml": GOOD_RULE.replace("decision_due: 4h", f"decision_due: {bad}")})
    )
    assert error.field == "consequences.decision_due"
    assert "duration" in error.reason


def test_bad_window_in_prior_attendances(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace(
        """    - type: text_mentions
      phrases: [punched]""",
        """    - type: prior_attendances
      at_least: 2
      within: 365""",
    )
    error = load_error(write_pack(tmp_path, {"demo.yaml": rule}))
    assert error.field == "conditions.any[1].within"
    assert "bad duration" in error.reason


def test_decision_due_needs_a_decision(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace("requires_decision: true", "requires_decision: false")
    error = load_error(write_pack(tmp_path, {"demo.yaml": rule}))
    assert error.field == "consequences"
    assert "requires_decision" in error.reason


def test_misspelt_field_is_an_error(tmp_path: Path) -> None:
    error = load_error(
        write_pack(
            tmp_path, {"demo.yaml": GOOD_RULE.replace("severity: high", "severity: high\nseverty: low")}
        )
    )
    assert error.field == "severty"
    assert "unknown field" in error.reason and "severity" in error.reason


def test_misspelt_predicate_field_is_an_error(tmp_path: Path) -> None:
    error = load_error(
        write_pack(
            tmp_path, {"demo.yaml": GOOD_RULE.replace("valueset: demo-icd10", "value_set: demo-icd10")}
        )
    )
    assert error.field.startswith("conditions.any[0].")
    assert error.field in ("conditions.any[0].valueset", "conditions.any[0].value_set")


def test_bad_phrase_pattern(tmp_path: Path) -> None:
    error = load_error(
        write_pack(tmp_path, {"demo.yaml": GOOD_RULE.replace("phrases: [punched]", "phrases: ['punch(ed']")})
    )
    assert error.field == "conditions.any[1].phrases"
    assert "not a valid pattern" in error.reason


def test_combinator_must_stand_alone(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace("conditions:\n  any:", "conditions:\n  type: age_band\n  any:")
    error = load_error(write_pack(tmp_path, {"demo.yaml": rule}))
    assert error.field == "conditions"
    assert "'any' must be the only key" in error.reason


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    error = load_error(write_pack(tmp_path, {"demo.yaml": GOOD_RULE + "severity: low\n"}))
    assert error.file.endswith("demo.yaml")
    assert "appears twice" in error.reason and "line" in error.reason


def test_invalid_yaml(tmp_path: Path) -> None:
    error = load_error(write_pack(tmp_path, {"demo.yaml": "id: demo\nconditions: [unclosed\n"}))
    assert error.field == ""
    assert "not valid YAML at line" in error.reason


def test_bad_code_in_value_set(tmp_path: Path) -> None:
    valueset = GOOD_VALUESET.replace("  - X85-Y09\n", "  - assault\n")
    error = load_error(write_pack(tmp_path, {"demo.yaml": GOOD_RULE}, {"demo-icd10.yaml": valueset}))
    assert error.file.endswith("valuesets/demo-icd10.yaml")
    assert error.field == "codes"
    assert "'assault' is not an ICD-10 code" in error.reason
    # The rule using the broken value set is not blamed a second time.
    assert len(error.problems) == 1


def test_bad_value_set_system(tmp_path: Path) -> None:
    valueset = GOOD_VALUESET.replace("system: icd10", "system: read2")
    error = load_error(write_pack(tmp_path, {"demo.yaml": GOOD_RULE}, {"demo-icd10.yaml": valueset}))
    assert error.field == "system"


def test_duplicate_value_set_id(tmp_path: Path) -> None:
    error = load_error(
        write_pack(tmp_path, {"demo.yaml": GOOD_RULE}, {"a.yaml": GOOD_VALUESET, "b.yaml": GOOD_VALUESET})
    )
    assert error.file.endswith("b.yaml") and error.field == "id"
    assert "duplicate value set id 'demo-icd10'" in error.reason


def test_every_problem_is_reported_in_one_pass(tmp_path: Path) -> None:
    rule = GOOD_RULE.replace("title: Demo\n", "").replace("severity: high", "severity: urgent")
    error = load_error(
        write_pack(tmp_path, {"demo.yaml": rule, "other.yaml": GOOD_RULE.replace("id: demo", "id: Bad Id")})
    )
    fields = [(Path(p.file).name, p.field) for p in error.problems]
    assert (
        ("demo.yaml", "title") in fields
        and ("demo.yaml", "severity") in fields
        and ("other.yaml", "id") in fields
    )
    assert str(error).count("\n") == len(error.problems) - 1


def test_empty_pack(tmp_path: Path) -> None:
    (tmp_path / "pack").mkdir()
    error = load_error(tmp_path)
    assert "no rule files" in error.reason


def test_check_text_concepts_names_the_unknown_concept() -> None:
    pack = load_pack()
    concepts = next(
        n for n in walk(pack.rule("does_not_feel_safe").conditions) if isinstance(n, TextDisclosure)
    ).concepts
    check_text_concepts(pack, [*concepts, "something_else"])
    with pytest.raises(RulePackError) as caught:
        check_text_concepts(pack, [c for c in concepts if c != "fear_of_place"])
    assert caught.value.file.endswith("does_not_feel_safe.yaml")
    assert caught.value.field == f"conditions.any[1].concepts[{concepts.index('fear_of_place')}]"
    assert "'fear_of_place'" in caught.value.reason
    assert len(caught.value.problems) == 1
