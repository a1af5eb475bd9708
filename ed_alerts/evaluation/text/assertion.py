"""Decide what ConText's cues mean for one target: does it count, is it uncertain, was it relayed.

ConText (medspaCy) attaches every cue whose scope covers a target. This step turns those cues
into the labelling guide's decisions:

- experiencer: of the cues naming who speaks or feels (another person, staff/agency, the
  patient), the nearest one to the target wins, so "mum reports pt told her he's scared" is the
  patient's fear relayed by mum and "pt says her best mate doesn't feel safe" is the mate's;
- historical counts only with a "still / today / nothing has changed" cue, and a "now" cue also
  lifts an abstract hypothetical ("if ever" ... "tonight");
- a plain "feels safe" after an uncertain, historical or staff-only mention resolves it; an
  explicit resolution ("concerns resolved", "all stopped now") resolves anything.

When several reasons apply, the first in settings.yaml `exclusion_order` is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ed_alerts.evaluation.text.findings import ExclusionReason

if TYPE_CHECKING:
    from spacy.tokens import Span

NEGATED = "NEGATED_EXISTENCE"
POSSIBLE = "POSSIBLE_EXISTENCE"
HYPOTHETICAL = "HYPOTHETICAL"
HISTORICAL = "HISTORICAL"
CURRENT = "CURRENT"
OTHER = "OTHER_EXPERIENCER"
PATIENT = "PATIENT_EXPERIENCER"
PROFESSIONAL = "PROFESSIONAL_CONCERN"
RESOLVED = "RESOLVED"
SAFE_STATEMENT = "SAFE_STATEMENT"
EXPERIENCER_CATEGORIES = frozenset({OTHER, PATIENT, PROFESSIONAL})
SCOPE_ONLY_CATEGORIES = frozenset({"PSEUDO", "TERMINATE", "CLAUSE_BREAK"})


@dataclass(frozen=True)
class Assessment:
    uncertain: bool
    third_party_report: bool
    excluded_reason: ExclusionReason | None
    cues: tuple[str, ...]


def assess(target: Span, concept_uncertain: bool, exclusion_order: Sequence[str]) -> Assessment:
    modifiers: tuple[Any, ...] = tuple(target._.modifiers)
    return _decide(
        target, modifiers, _nearest_experiencer(target, modifiers), concept_uncertain, exclusion_order
    )


def assess_sentence(sentence: Span, exclusion_order: Sequence[str]) -> Assessment:
    """The same decision for a whole sentence in which no phrase matched (the sentence model's).

    ConText only links cues to targets, so here the cues are found directly: every cue whose
    scope reaches a word of the sentence that is not itself part of a cue ("denies", "mum says").
    Of the cues naming who speaks, the last in the sentence wins ("mum says pt told her ...").
    A model finding is always uncertain.
    """
    doc = sentence.doc
    graph = getattr(doc._, "context_graph", None)
    candidates = [
        m for m in (graph.modifiers if graph is not None else ()) if m.category not in SCOPE_ONLY_CATEGORIES
    ]
    in_cue = {i for m in candidates for i in range(*m.modifier_span)}
    content = [i for i in range(sentence.start, sentence.end) if i not in in_cue and not doc[i].is_punct]
    modifiers = tuple(m for m in candidates if any(m.scope_span[0] <= i < m.scope_span[1] for i in content))
    speakers = [m for m in modifiers if m.category in EXPERIENCER_CATEGORIES]
    speaker = max(speakers, key=lambda m: m.modifier_span, default=None)
    return _decide(sentence, modifiers, speaker, True, exclusion_order)


def _decide(
    target: Span,
    modifiers: tuple[Any, ...],
    speaker: Any | None,
    concept_uncertain: bool,
    exclusion_order: Sequence[str],
) -> Assessment:
    categories = {m.category for m in modifiers}
    speaker_category = speaker.category if speaker is not None else None

    uncertain = concept_uncertain or POSSIBLE in categories
    current = CURRENT in categories
    historical = HISTORICAL in categories and not current
    professional = speaker_category == PROFESSIONAL
    resolved = RESOLVED in categories or (
        SAFE_STATEMENT in categories and (uncertain or historical or professional)
    )

    reasons: dict[str, bool] = {
        "negated": NEGATED in categories,
        "other_experiencer": speaker_category == OTHER,
        "professional_concern": professional,
        "hypothetical": HYPOTHETICAL in categories and not current,
        "historical": historical,
        "resolved": resolved,
    }
    # rule_files checked that exclusion_order holds exactly the ExclusionReason values
    excluded = cast(ExclusionReason | None, next((r for r in exclusion_order if reasons.get(r)), None))
    third_party = speaker_category == PATIENT and _relayed(target, speaker)
    cues = tuple(
        f"{m.category}: {_text(target, m)}" for m in sorted(modifiers, key=lambda m: m.modifier_span)
    )
    return Assessment(uncertain, third_party, excluded, cues)


def _distance(target: Span, modifier: Any) -> int:
    start, end = modifier.modifier_span
    return target.start - end if end <= target.start else start - target.end


def _nearest_experiencer(target: Span, modifiers: tuple[Any, ...]) -> Any | None:
    speakers = [m for m in modifiers if m.category in EXPERIENCER_CATEGORIES]
    return min(speakers, key=lambda m: _distance(target, m), default=None)


def _relayed(target: Span, patient_cue: Any) -> bool:
    """The child's words reached the note through someone else who told the clinician."""
    if patient_cue.rule.metadata and patient_cue.rule.metadata.get("third_party_report"):
        return True
    # "Mum reports pt told her...": a non-patient speaker earlier in the same sentence.
    graph = target.doc._.context_graph
    sentence = target.sent
    cue_start = patient_cue.modifier_span[0]
    return any(
        m.category in (OTHER, PROFESSIONAL) and sentence.start <= m.modifier_span[0] < cue_start
        for m in graph.modifiers
    )


def _text(target: Span, modifier: Any) -> str:
    start, end = modifier.modifier_span
    return target.doc[start:end].text
