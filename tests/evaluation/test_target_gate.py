"""The detector's gate skips notes no target phrase can match, and per-sentence matching finds
exactly what running the whole pipeline over the whole note finds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ed_alerts.evaluation.text import DisclosureDetector
from ed_alerts.evaluation.text.gate import Requirement, TargetGate, requirement

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / "tests" / "data" / "corpora"


@pytest.fixture(scope="module")
def detector() -> DisclosureDetector:
    return DisclosureDetector.from_folder(REPO / "rules" / "nlp")


def corpus_texts() -> list[str]:
    texts = []
    for path in sorted(CORPORA.glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    return texts


def triage_notes(n: int) -> list[str]:
    """Whole triage notes (several sentences, observations, a companion) around a core sentence."""
    rng = random.Random(7)
    cores = ["Twisted ankle playing football.", "Says he was jumped by 3 lads, doesn't feel safe going home.",
             "Mum says she is scared of her ex; pt happy and chatty.", "?threatened online, pt denies.",
             "Pt reports he was thretened by older boys he owes money to. Head injury, GCS 15."]
    return [f"{rng.randint(0, 23):02d}:{rng.randint(10, 59)} triage. {rng.choice(cores)} "
            f"{rng.choice(['Attended with mum.', 'Came alone.', 'Brought by police.'])} "
            f"Obs HR {rng.randint(60, 130)} RR {rng.randint(12, 28)}, pain {rng.randint(0, 10)}/10."
            for _ in range(n)]


def full_pipeline(detector: DisclosureDetector, text: str) -> list[object]:
    return list(detector.parse(text)[1]) if text.strip() else []


def test_gated_detection_equals_the_full_pipeline_on_every_corpus_note(detector: DisclosureDetector) -> None:
    texts = corpus_texts() + triage_notes(150)
    assert len(texts) > 500
    mismatched = [t for t in texts if detector.detect(t) != full_pipeline(detector, t)]
    assert mismatched == []
    # ...and the gate does skip work: plain notes never reach the matcher.
    skipped = [t for t in texts if not detector._gate.admits(tok.lower_ for tok in detector._nlp.make_doc(t))]
    assert len(skipped) > len(texts) // 5
    assert all(full_pipeline(detector, t) == [] for t in skipped)


@pytest.mark.parametrize("text", [
    "Twisted ankle playing football. NV intact. Attended with mum.",
    "Fell off scooter at the skate park, no safeguarding concerns.",
])
def test_plain_notes_are_not_admitted(detector: DisclosureDetector, text: str) -> None:
    assert not detector._gate.admits(t.lower_ for t in detector._nlp.make_doc(text))
    assert detector.detect(text) == []


@pytest.mark.parametrize("text", [
    "pt says 'i dont feel safe at home'",
    "He was thretened by the olders",  # a one-letter slip: only the fuzzy word can admit it
    "threatend on snap last night",  # only the regular expression can admit it
])
def test_notes_with_a_possible_phrase_are_admitted(detector: DisclosureDetector, text: str) -> None:
    assert detector._gate.admits(t.lower_ for t in detector._nlp.make_doc(text))


def test_requirements_are_read_from_token_specs() -> None:
    assert requirement({"LOWER": "safe"}) == Requirement("words", frozenset({"safe"}))
    assert requirement({"LOWER": {"IN": ["scared", "afraid"]}}) == Requirement("words", frozenset({"scared", "afraid"}))
    assert requirement({"LOWER": {"FUZZY1": {"IN": ["threatened"]}}}) == Requirement("fuzzy", frozenset({"threatened"}))
    assert requirement({"LOWER": {"REGEX": "^thre"}}) == Requirement("regex", regex="^thre")
    assert requirement({"LOWER": "very", "OP": "?"}) is None  # optional: never required
    assert requirement({"IS_SENT_START": False, "OP": "{0,3}"}) is None


def test_a_pattern_needs_every_required_token() -> None:
    gate = TargetGate([[{"LOWER": {"IN": ["not", "never"]}}, {"LOWER": "very", "OP": "?"}, {"LOWER": "safe"}]])
    assert gate.admits(["i", "am", "not", "safe"])
    assert not gate.admits(["i", "am", "safe"])
    assert not gate.admits(["not", "today"])


def test_a_pattern_without_requirements_admits_everything() -> None:
    gate = TargetGate([[{"LOWER": "safe"}], [{"IS_SENT_START": True}]])
    assert gate.admits(["nothing", "relevant"])


def test_fuzzy_and_regex_requirements() -> None:
    gate = TargetGate([[{"LOWER": {"FUZZY1": {"IN": ["threatened"]}}}, {"LOWER": "by"}],
                       [{"LOWER": {"REGEX": "^stab+(ed|bed)?$"}}]])
    assert gate.admits(["thretened", "by", "them"])
    assert not gate.admits(["thretened", "online"])
    assert not gate.admits(["threaten", "by"])  # two edits away
    assert gate.admits(["was", "stabbed"])
    assert not gate.admits(["was", "stable"])
