"""The predicate types: one function per leaf type, and `all`/`any`/`not` composition.

Each function takes its schema model and the run and returns a `Match` with evidence. `any`
collects evidence from every branch that holds, so the nurse sees all the reasons; `all` stops at
the first branch that fails; `not` holds without evidence (an absence has nothing to point at).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ed_alerts.evaluation.predicates.coded import coded_value_in
from ed_alerts.evaluation.predicates.free_text import text_disclosure, text_mentions
from ed_alerts.evaluation.predicates.history import prior_attendances
from ed_alerts.evaluation.predicates.observations import answer_equals, number_at_least
from ed_alerts.evaluation.predicates.run import Run
from ed_alerts.evaluation.predicates.setting import age_band, home_out_of_area, source_type_in
from ed_alerts.evaluation.results import Evidence, Match
from ed_alerts.evaluation.schema import (
    LEAF_TYPES,
    AgeBand,
    AllOf,
    AnswerEquals,
    AnyOf,
    CodedValueIn,
    HomeOutOfArea,
    NotOf,
    NumberAtLeast,
    Predicate,
    PriorAttendances,
    SourceTypeIn,
    TextDisclosure,
    TextMentions,
)

_LEAVES: dict[type, Callable[[Any, Run], Match]] = {
    CodedValueIn: coded_value_in,
    AnswerEquals: answer_equals,
    NumberAtLeast: number_at_least,
    TextDisclosure: text_disclosure,
    TextMentions: text_mentions,
    PriorAttendances: prior_attendances,
    HomeOutOfArea: home_out_of_area,
    AgeBand: age_band,
    SourceTypeIn: source_type_in,
}
# Adding a predicate type to the schema without an evaluator here is a programming error: fail at import.
if set(_LEAVES) != set(LEAF_TYPES.values()):
    raise RuntimeError("every predicate type in schema.LEAF_TYPES needs an evaluator in predicates/")


def evaluate_predicate(predicate: Predicate, run: Run) -> Match:
    if isinstance(predicate, AllOf):
        evidence: list[Evidence] = []
        for child in predicate.of:
            result = evaluate_predicate(child, run)
            if not result.matched:
                return Match.no()
            evidence.extend(result.evidence)
        return Match.yes(evidence)
    if isinstance(predicate, AnyOf):
        results = [evaluate_predicate(child, run) for child in predicate.of]
        if not any(r.matched for r in results):
            return Match.no()
        return Match.yes([e for r in results if r.matched for e in r.evidence])
    if isinstance(predicate, NotOf):
        return Match.no() if evaluate_predicate(predicate.of, run).matched else Match.yes(())
    return _LEAVES[type(predicate)](predicate, run)


__all__ = ["Run", "evaluate_predicate"]
