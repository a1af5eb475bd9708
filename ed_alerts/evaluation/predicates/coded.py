"""`coded_value_in`: a diagnosis, the reason code, or an observation's code or value is in a value set."""

from __future__ import annotations

from collections.abc import Iterator

from ed_alerts.domain import Attendance, Coding
from ed_alerts.evaluation.predicates.run import Run
from ed_alerts.evaluation.results import Evidence, EvidenceKind, Match
from ed_alerts.evaluation.schema import CodedValueIn
from ed_alerts.evaluation.valuesets import normalise_system


def observation_label(code: Coding | None) -> str:
    return code.code.strip() if code is not None and code.code else "(uncoded)"


def _codings(attendance: Attendance, field: str) -> Iterator[tuple[str, str, Coding | None]]:
    """(source, how to say it, coding) for one of the fields a rule may name."""
    if field == "diagnoses":
        for coding in attendance.diagnoses:
            yield "diagnosis", "diagnosis", coding
    elif field == "reason_code":
        yield "reason code", "reason code", attendance.reason_code
    elif field == "observation_value":
        for obs in attendance.observations:
            label = observation_label(obs.code)
            yield f"observation {label}", f"{label} recorded as", obs.value_code
    elif field == "observation_code":
        for obs in attendance.observations:
            yield f"observation {observation_label(obs.code)}", "observation", obs.code


def coded_value_in(predicate: CodedValueIn, run: Run) -> Match:
    matcher = run.pack.matcher(predicate.valueset)
    evidence: list[Evidence] = []
    for field in predicate.fields:
        for source, phrase, coding in _codings(run.ctx.attendance, field):
            found = matcher.match(coding)
            if found is None or coding is None:
                continue
            shown = f"{phrase} {found.code}" + (f" ({found.display})" if found.display else "")
            evidence.append(
                Evidence(
                    kind=EvidenceKind.CODE,
                    source=source,
                    description=shown,
                    code=found.code,
                    system=normalise_system(coding.system).value,
                    display=found.display,
                    valueset=predicate.valueset,
                )
            )
    return Match.yes(evidence) if evidence else Match.no()
