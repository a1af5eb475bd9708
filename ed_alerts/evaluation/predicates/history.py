"""`prior_attendances`: the same child's earlier attendances within a window, counted by the caller."""

from __future__ import annotations

from ed_alerts.evaluation.durations import format_duration
from ed_alerts.evaluation.predicates.run import Run
from ed_alerts.evaluation.results import Evidence, EvidenceKind, Match
from ed_alerts.evaluation.schema import PriorAttendances


def prior_attendances(predicate: PriorAttendances, run: Run) -> Match:
    count = run.prior_attendances(predicate.within)
    if count < predicate.at_least:
        return Match.no()
    plural = "" if count == 1 else "s"
    return Match.yes(
        [
            Evidence(
                kind=EvidenceKind.PRIOR_ATTENDANCES,
                source="attendance history",
                value=str(count),
                description=(
                    f"{count} earlier attendance{plural} in the last {format_duration(predicate.within)}"
                ),
            )
        ]
    )
