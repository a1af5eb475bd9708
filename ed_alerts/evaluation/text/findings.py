"""What the detector reports: one finding per phrase found, kept even when context excludes it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

ExclusionReason = Literal[
    "negated",
    "other_experiencer",
    "professional_concern",
    "hypothetical",
    "historical",
    "resolved",
]


class TextFinding(BaseModel):
    """A phrase from a target concept found in a note, with the context that decides if it counts.

    `start`/`end` are character offsets into the text given to `detect`, so a UI can highlight
    `text[start:end]`. `excluded_reason` is None when the finding counts as the child's own current
    disclosure; otherwise it says why not, and the finding is kept so the decision is explainable.
    `cues` lists the context cues that applied, e.g. "NEGATED_EXISTENCE: denies".
    """

    model_config = ConfigDict(frozen=True)

    concept: str
    matched_text: str
    start: int
    end: int
    sentence: str
    uncertain: bool = False
    third_party_report: bool = False
    excluded_reason: ExclusionReason | None = None
    cues: tuple[str, ...] = ()

    @property
    def counts(self) -> bool:
        return self.excluded_reason is None


def positive(findings: Iterable[TextFinding]) -> list[TextFinding]:
    """The findings that count as a disclosure (uncertain ones included: they need review)."""
    return [finding for finding in findings if finding.counts]


def is_disclosure(findings: Iterable[TextFinding]) -> bool:
    return any(finding.counts for finding in findings)
