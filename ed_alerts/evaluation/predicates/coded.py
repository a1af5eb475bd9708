"""`coded_value_in`: a diagnosis, the reason code, or an observation's code or value is in a value set."""

from __future__ import annotations

from collections.abc import Iterator

from ed_alerts.domain import Attendance, Coding, Observation
from ed_alerts.evaluation.predicates.run import Run
from ed_alerts.evaluation.results import Evidence, EvidenceKind, Match
from ed_alerts.evaluation.schema import CodedValueIn
from ed_alerts.evaluation.valuesets import normalise_system


def observation_label(code: Coding | None) -> str:
    return code.code.strip() if code is not None and code.code else "(uncoded)"


def observation_source(obs: Observation) -> str:
    """Where evidence from an observation was found: "observation FEELS_SAFE", or, for one supplied
    by a lookup rather than the message, "observation CP_PLAN from CP-IS"."""
    label = f"observation {observation_label(obs.code)}"
    return f"{label} from {obs.origin}" if obs.origin else label


def _codings(attendance: Attendance, field: str) -> Iterator[tuple[str, str, Coding | None, str | None]]:
    """(source, how to say it, coding, origin) for one of the fields a rule may name."""
    if field == "diagnoses":
        for coding in attendance.diagnoses:
            yield "diagnosis", "diagnosis", coding, None
    elif field == "reason_code":
        yield "reason code", "reason code", attendance.reason_code, None
    elif field == "observation_value":
        for obs in attendance.observations:
            label = observation_label(obs.code)
            yield observation_source(obs), f"{label} recorded as", obs.value_code, obs.origin
    elif field == "observation_code":
        for obs in attendance.observations:
            yield observation_source(obs), "observation", obs.code, obs.origin


def coded_value_in(predicate: CodedValueIn, run: Run) -> Match:
    matcher = run.pack.matcher(predicate.valueset)
    evidence: list[Evidence] = []
    for field in predicate.fields:
        for source, phrase, coding, origin in _codings(run.ctx.attendance, field):
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
                    origin=origin,
                )
            )
    return Match.yes(evidence) if evidence else Match.no()
