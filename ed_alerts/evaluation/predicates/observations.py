"""`answer_equals` and `number_at_least`: structured observations ("feels safe", "number of assailants")."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ed_alerts.domain import Observation
from ed_alerts.evaluation.predicates.coded import observation_label, observation_source
from ed_alerts.evaluation.predicates.run import Run
from ed_alerts.evaluation.results import Evidence, EvidenceKind, Match
from ed_alerts.evaluation.schema import AnswerEquals, NumberAtLeast


def _asked(predicate: AnswerEquals | NumberAtLeast, run: Run) -> Iterator[Observation]:
    """The observations that answer the predicate's question, in message order."""
    matcher = run.pack.matcher(predicate.question_valueset) if predicate.question_valueset else None
    wanted = predicate.question.strip().upper() if predicate.question else None
    for obs in run.ctx.attendance.observations:
        if obs.code is None or not obs.code.code:
            continue
        if (
            wanted is not None
            and obs.code.code.strip().upper() == wanted
            or matcher is not None
            and matcher.match(obs.code) is not None
        ):
            yield obs


def _question(obs: Observation) -> str:
    assert obs.code is not None
    label = observation_label(obs.code)
    return f"{obs.code.display} ({label})" if obs.code.display else label


def answer_equals(predicate: AnswerEquals, run: Run) -> Match:
    answers = {a.strip().casefold() for a in predicate.answers}
    evidence: list[Evidence] = []
    for obs in _asked(predicate, run):
        # Feeds put the answer in the text, the code or the code's display; any of them may carry it.
        given = [
            obs.value_text,
            obs.value_code.code if obs.value_code else None,
            obs.value_code.display if obs.value_code else None,
        ]
        hit = next((g.strip() for g in given if g and g.strip().casefold() in answers), None)
        if hit is None:
            continue
        assert obs.code is not None
        # An answer a lookup supplied is stated as what that source says, not as a question asked.
        described = (f"{obs.origin}: {obs.code.display or observation_label(obs.code)}" if obs.origin
                     else f"answered '{hit}' to {_question(obs)}")
        evidence.append(
            Evidence(
                kind=EvidenceKind.ANSWER,
                source=observation_source(obs),
                description=described,
                code=obs.code.code,
                system=str(obs.code.system),
                display=obs.code.display,
                value=hit,
                valueset=predicate.question_valueset,
                origin=obs.origin,
            )
        )
    return Match.yes(evidence) if evidence else Match.no()


def _number(obs: Observation) -> float | None:
    if obs.value_number is not None:
        return obs.value_number
    # Some feeds send a numeric OBX as text ("3"); read it, but never guess at words like "several".
    if obs.value_text is not None:
        try:
            number = float(obs.value_text.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def number_at_least(predicate: NumberAtLeast, run: Run) -> Match:
    evidence: list[Evidence] = []
    for obs in _asked(predicate, run):
        number = _number(obs)
        if number is None or number < predicate.at_least:
            continue
        assert obs.code is not None
        evidence.append(
            Evidence(
                kind=EvidenceKind.NUMBER,
                source=observation_source(obs),
                description=f"{_question(obs)} = {_show(number)} (at least {_show(predicate.at_least)})",
                code=obs.code.code,
                system=str(obs.code.system),
                display=obs.code.display,
                value=_show(number),
                valueset=predicate.question_valueset,
                origin=obs.origin,
            )
        )
    return Match.yes(evidence) if evidence else Match.no()
