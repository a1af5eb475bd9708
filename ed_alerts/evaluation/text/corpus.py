"""Measure a detector on a labelled JSONL corpus and print the figures a safety officer reads.

Each line: {"id": ..., "text": ..., "unsafe_disclosure": true/false, "tags": [...]}. A note is
predicted positive when at least one finding counts (uncertain findings count: they need review).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from ed_alerts.evaluation.text.findings import TextFinding, is_disclosure


class Detects(Protocol):
    def detect(self, text: str) -> list[TextFinding]: ...


class LabelledNote(BaseModel):
    id: str
    text: str
    unsafe_disclosure: bool
    tags: list[str] = []


class TagStats(BaseModel):
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


class Misclassified(BaseModel):
    id: str
    text: str
    expected: bool
    got: bool
    reason: str


class CorpusReport(BaseModel):
    path: str
    n: int
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    per_tag: dict[str, TagStats]
    misclassified: list[Misclassified]

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def read_corpus(path: Path) -> list[LabelledNote]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [LabelledNote.model_validate(json.loads(line)) for line in lines if line.strip()]


def evaluate_corpus(detector: Detects, path: Path) -> CorpusReport:
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    tag_n: dict[str, int] = {}
    tag_correct: dict[str, int] = {}
    wrong: list[Misclassified] = []
    notes = read_corpus(path)
    for note in notes:
        findings = detector.detect(note.text)
        got = is_disclosure(findings)
        key = ("t" if got == note.unsafe_disclosure else "f") + ("p" if got else "n")
        counts[key] += 1
        for tag in note.tags:
            tag_n[tag] = tag_n.get(tag, 0) + 1
            tag_correct[tag] = tag_correct.get(tag, 0) + int(got == note.unsafe_disclosure)
        if got != note.unsafe_disclosure:
            wrong.append(
                Misclassified(
                    id=note.id,
                    text=note.text,
                    expected=note.unsafe_disclosure,
                    got=got,
                    reason=explain(findings),
                )
            )
    return CorpusReport(
        path=str(path),
        n=len(notes),
        true_positives=counts["tp"],
        false_positives=counts["fp"],
        false_negatives=counts["fn"],
        true_negatives=counts["tn"],
        per_tag={tag: TagStats(n=tag_n[tag], correct=tag_correct[tag]) for tag in sorted(tag_n)},
        misclassified=wrong,
    )


def explain(findings: Iterable[TextFinding]) -> str:
    parts = []
    for f in findings:
        verdict = f.excluded_reason or ("counted, uncertain" if f.uncertain else "counted")
        parts.append(f"{f.concept} {f.matched_text!r} -> {verdict}")
    return "; ".join(parts) if parts else "no phrase matched"


def format_report(report: CorpusReport) -> str:
    lines = [
        f"precision: {report.precision:.3f}",
        f"recall: {report.recall:.3f}",
        f"F1: {report.f1:.3f}",
        (
            f"notes: {report.n} (TP {report.true_positives}, FP {report.false_positives}, "
            f"FN {report.false_negatives}, TN {report.true_negatives})"
        ),
        "per tag:",
    ]
    width = max((len(tag) for tag in report.per_tag), default=0)
    for tag, stats in report.per_tag.items():
        lines.append(
            f"  {tag:<{width}}  n={stats.n:<3} correct={stats.correct:<3} accuracy={stats.accuracy:.3f}"
        )
    lines.append(f"misclassified: {len(report.misclassified)}")
    for item in report.misclassified:
        lines.append(f"  {item.id} expected={item.expected} got={item.got}: {item.text}")
        lines.append(f"      reason: {item.reason}")
    return "\n".join(lines)
