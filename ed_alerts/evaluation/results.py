"""What evaluation returns: flags with their evidence, in a form that can be stored and shown as is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from ed_alerts.evaluation.schema import Severity


class EvidenceKind(StrEnum):
    CODE = "code"
    ANSWER = "answer"
    NUMBER = "number"
    TEXT = "text"
    PRIOR_ATTENDANCES = "prior_attendances"
    ADDRESS = "address"
    AGE = "age"
    SOURCE = "source"


# Evidence that describes the setting rather than the concern: it never makes a flag certain.
CONTEXT_KINDS = frozenset({EvidenceKind.AGE, EvidenceKind.SOURCE})


class Evidence(BaseModel):
    """One fact that made a rule fire, precise enough to point the nurse at it."""

    model_config = ConfigDict(frozen=True)

    kind: EvidenceKind
    source: str  # where: "diagnosis", "reason code", "observation ASSAILANTS", "NTE", "reason", ...
    description: str  # the readable phrase used in the flag's reason
    code: str | None = None
    system: str | None = None
    display: str | None = None
    valueset: str | None = None
    value: str | None = None  # the answer, the number, the count, the postcode district
    matched_text: str | None = None
    start: int | None = None  # offsets of matched_text within the text named by `source`
    end: int | None = None
    source_index: int | None = None  # which note: attendance.notes[source_index]; None for the reason
    concept: str | None = None  # the NLP concept for text_disclosure evidence
    uncertain: bool = False
    origin: str | None = None  # a source outside the message that supplied the fact, e.g. "CP-IS"


class FlagResult(BaseModel):
    """A rule that fired for this attendance."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    rule_version: int
    title: str
    severity: Severity
    reason: str  # one line for the nurse
    evidence: list[Evidence]
    uncertain: bool  # only hedged text evidence: "may have said they do not feel safe"
    requires_decision: bool
    decision_due: timedelta | None


@dataclass(frozen=True)
class Match:
    """A predicate's answer: whether it holds, and the evidence when it does."""

    matched: bool
    evidence: tuple[Evidence, ...] = field(default=())

    @classmethod
    def no(cls) -> Match:
        return _NO

    @classmethod
    def yes(cls, evidence: list[Evidence] | tuple[Evidence, ...]) -> Match:
        return cls(True, tuple(evidence))


_NO = Match(False)
