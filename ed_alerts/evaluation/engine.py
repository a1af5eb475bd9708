"""Evaluate a rule pack against one attendance: a pure function from (pack, context) to flags.

Rules whose ages exclude the child (whole years on the arrival date in England) are skipped.
When the birth date is unknown every rule is applied, because missing a child is worse than a
flag a nurse dismisses, and each flag records that the age was unknown.

Output order is fixed: most severe first, then by rule id. Evidence keeps the order of the rule's
conditions, then of the texts (reason, then notes) and offsets within them.
"""

from __future__ import annotations

from ed_alerts.evaluation.ages import age_in_years, arrival_date
from ed_alerts.evaluation.context import EvaluationContext
from ed_alerts.evaluation.loader import RulePack
from ed_alerts.evaluation.predicates import Run, evaluate_predicate
from ed_alerts.evaluation.predicates.setting import age_unknown_evidence
from ed_alerts.evaluation.results import CONTEXT_KINDS, Evidence, FlagResult
from ed_alerts.evaluation.schema import Rule

REASON_PARTS = 2  # enough to say why at a glance; the evidence list has the rest


def evaluate(pack: RulePack, ctx: EvaluationContext) -> list[FlagResult]:
    run = Run(pack, ctx)
    age = age_in_years(ctx.patient.birth_date, arrival_date(ctx.arrival))
    flags: list[FlagResult] = []
    for rule in pack.rules:
        if not rule.consequences.raise_flag:
            continue
        if age is not None and not rule.ages.contains(age):
            continue
        match = evaluate_predicate(rule.conditions, run)
        if not match.matched:
            continue
        evidence = _distinct(match.evidence)
        if age is None and not any(e == age_unknown_evidence() for e in evidence):
            evidence.append(age_unknown_evidence())
        flags.append(_flag(rule, evidence))
    flags.sort(key=lambda f: (-f.severity.rank, f.rule_id))
    return flags


def _distinct(evidence: tuple[Evidence, ...]) -> list[Evidence]:
    # Overlapping `any` branches can find the same fact twice; show it once, where first found.
    seen: set[tuple[object, ...]] = set()
    kept: list[Evidence] = []
    for item in evidence:
        key = (
            item.kind,
            item.source,
            item.source_index,
            item.code,
            item.value,
            item.start,
            item.end,
            item.concept,
        )
        if key in seen:
            continue
        seen.add(key)
        kept.append(item)
    return kept


def _flag(rule: Rule, evidence: list[Evidence]) -> FlagResult:
    substantive = [e for e in evidence if e.kind not in CONTEXT_KINDS]
    uncertain = any(e.uncertain for e in substantive) and not any(not e.uncertain for e in substantive)
    return FlagResult(
        rule_id=rule.id,
        rule_version=rule.version,
        title=rule.title,
        severity=rule.severity,
        reason=_reason(rule.title, substantive or evidence),
        evidence=evidence,
        uncertain=uncertain,
        requires_decision=rule.consequences.requires_decision,
        decision_due=rule.consequences.decision_due,
    )


def _reason(title: str, evidence: list[Evidence]) -> str:
    if not evidence:
        return f"{title}: conditions met"
    parts = [e.description for e in evidence[:REASON_PARTS]]
    more = len(evidence) - REASON_PARTS
    if more > 0:
        parts.append(f"+{more} more")
    return f"{title}: {'; '.join(parts)}"
