"""A plain-text summary of a loaded pack, for reviewers and for the service's start-up log."""

from __future__ import annotations

from ed_alerts.evaluation.conditions import walk
from ed_alerts.evaluation.durations import compact_duration
from ed_alerts.evaluation.loader import RulePack
from ed_alerts.evaluation.schema import AllOf, AnyOf, CodedValueIn, NotOf, Rule
from ed_alerts.evaluation.valuesets import ValueSet


def summarise_pack(pack: RulePack) -> str:
    lines = [
        f"rule pack {pack.root} ({len(pack.rules)} rules, {len(pack.valuesets)} value sets, "
        f"sha256 {pack.digest[:12]})",
        "",
        "rules:",
    ]
    for rule in pack.rules:
        lines.extend(_rule_lines(rule))
    lines.extend(["", "value sets:"])
    used = _used_valuesets(pack)
    for valueset in pack.valuesets.values():
        lines.append(_valueset_line(valueset, used))
    return "\n".join(lines)


def _rule_lines(rule: Rule) -> list[str]:
    leaf_types = sorted(
        {str(node.type) for node in walk(rule.conditions) if not isinstance(node, (AllOf, AnyOf, NotOf))}
    )
    then = []
    if not rule.consequences.raise_flag:
        then.append("silent (evaluated, no flag raised)")
    else:
        then.append("raise flag")
    if rule.consequences.requires_decision:
        due = rule.consequences.decision_due
        then.append("referral decision required" + (f" within {compact_duration(due)}" if due else ""))
    valuesets = sorted(_valuesets_of(rule))
    return [
        f"  {rule.id} v{rule.version}: {rule.title}",
        f"    severity {rule.severity.value}; ages {rule.ages.min}-{rule.ages.max}",
        f"    predicates: {', '.join(leaf_types)}",
        f"    value sets: {', '.join(valuesets) if valuesets else '-'}",
        f"    then: {'; '.join(then)}",
    ]


def _valuesets_of(rule: Rule) -> set[str]:
    used: set[str] = set()
    for node in walk(rule.conditions):
        if isinstance(node, CodedValueIn):
            used.add(node.valueset)
        question = getattr(node, "question_valueset", None)
        if question:
            used.add(question)
    return used


def _used_valuesets(pack: RulePack) -> set[str]:
    return set().union(*(_valuesets_of(rule) for rule in pack.rules))


def _valueset_line(valueset: ValueSet, used: set[str]) -> str:
    count = len(valueset.codes)
    ranges = sum(1 for entry in valueset.codes if "-" in entry.code)
    counted = f"{count} code{'' if count == 1 else 's'}" + (
        f" incl. {ranges} range{'' if ranges == 1 else 's'}" if ranges else ""
    )
    unused = "" if valueset.id in used else " [not used by any rule]"
    return f"  {valueset.id} ({valueset.system.value}, {counted}): {valueset.title}{unused}"
