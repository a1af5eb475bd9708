"""Load and check a rule pack directory: `pack/*.yaml` (rules) and `valuesets/*.yaml` (code lists).

Loading either returns a complete, cross-checked `RulePack` or raises `RulePackError` naming the
file, the field and the reason; the service calls this at start and refuses to run on an error.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ed_alerts.evaluation.conditions import (
    PLACEHOLDER,
    ConditionError,
    parse_condition,
    validation_problems,
    walk_with_paths,
)
from ed_alerts.evaluation.errors import Problem, RulePackError
from ed_alerts.evaluation.schema import Rule, TextDisclosure
from ed_alerts.evaluation.valuesets import ValueSet, ValueSetMatcher

DEFAULT_RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
RULES_SUBDIR = "pack"
VALUESETS_SUBDIR = "valuesets"


@dataclass(frozen=True)
class RulePack:
    """A loaded, checked pack. Rules are in id order so evaluation is deterministic."""

    root: Path
    rules: tuple[Rule, ...]
    valuesets: Mapping[str, ValueSet]
    rule_files: Mapping[str, str]  # rule id -> file it came from
    valueset_files: Mapping[str, str]
    digest: str  # sha256 over every file's name and bytes: which exact pack produced a flag
    _matchers: dict[str, ValueSetMatcher] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for valueset_id, valueset in self.valuesets.items():
            self._matchers[valueset_id] = valueset.matcher()

    def matcher(self, valueset_id: str) -> ValueSetMatcher:
        return self._matchers[valueset_id]

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


class _Yaml12Loader(yaml.SafeLoader):
    """Safe YAML with two traps closed.

    YAML 1.1 reads unquoted yes/no/on/off as booleans, which would turn the answer `No` into
    false; only true/false are booleans here. And PyYAML silently keeps the last of two equal keys,
    which would hide a second `conditions:`; here that is an error.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_pack(root: Path | str = DEFAULT_RULES_DIR) -> RulePack:
    """Read, validate and cross-check every rule and value set under `root`."""
    root = Path(root)
    valueset_paths = _yaml_files(root / VALUESETS_SUBDIR)
    rule_paths = _yaml_files(root / RULES_SUBDIR)
    if not rule_paths:
        raise RulePackError.single(str(root / RULES_SUBDIR), "", "no rule files (*.yaml) found")

    problems: list[Problem] = []
    valuesets: dict[str, ValueSet] = {}
    valueset_files: dict[str, str] = {}
    # A value set that failed to load is reported once, not again as "unknown" in every rule using it.
    failed_valuesets: set[str] = set()
    for path in valueset_paths:
        raw = _read_mapping(path, problems)
        if raw is None:
            failed_valuesets.add(path.stem)
            continue
        try:
            valueset = ValueSet.model_validate(raw)
        except ValidationError as exc:
            problems.extend(Problem(str(path), f, r) for f, r in validation_problems("", exc, ValueSet))
            failed_valuesets.update(i for i in (path.stem, raw.get("id")) if isinstance(i, str) and i)
            continue
        if valueset.id in valuesets:
            problems.append(
                Problem(
                    str(path),
                    "id",
                    f"duplicate value set id {valueset.id!r} (also in {valueset_files[valueset.id]})",
                )
            )
            continue
        valuesets[valueset.id] = valueset
        valueset_files[valueset.id] = str(path)

    rules: dict[str, Rule] = {}
    rule_files: dict[str, str] = {}
    known_ids = set(valuesets) | failed_valuesets
    for path in rule_paths:
        raw = _read_mapping(path, problems)
        if raw is None:
            continue
        rule = _parse_rule(raw, str(path), known_ids, problems)
        if rule is None:
            continue
        if rule.id in rules:
            problems.append(
                Problem(str(path), "id", f"duplicate rule id {rule.id!r} (also in {rule_files[rule.id]})")
            )
            continue
        rules[rule.id] = rule
        rule_files[rule.id] = str(path)

    if problems:
        raise RulePackError(problems)
    ordered = tuple(rules[rule_id] for rule_id in sorted(rules))
    return RulePack(
        root=root,
        rules=ordered,
        valuesets=dict(sorted(valuesets.items())),
        rule_files=rule_files,
        valueset_files=valueset_files,
        digest=_digest(root, valueset_paths + rule_paths),
    )


def check_text_concepts(pack: RulePack, known_concepts: Iterable[str]) -> None:
    """Fail if a `text_disclosure` names a concept the detector does not report.

    The pack cannot know the detector's concepts when it loads, so the service calls this at start
    with the detector's list: a misspelt concept would otherwise never fire, silently.
    """
    known = set(known_concepts)
    problems = []
    for rule in pack.rules:
        for path, node in walk_with_paths(rule.conditions):
            if not isinstance(node, TextDisclosure):
                continue
            for index, concept in enumerate(node.concepts):
                if concept not in known:
                    problems.append(
                        Problem(
                            pack.rule_files[rule.id],
                            f"{path}.concepts[{index}]",
                            f"the text detector has no concept {concept!r} "
                            f"(it has: {', '.join(sorted(known)) or 'none'})",
                        )
                    )
    if problems:
        raise RulePackError(problems)


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def _read_mapping(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), "", f"cannot read the file ({exc})"))
        return None
    try:
        data = yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(Problem(str(path), "", f"not valid YAML{where}: {exc.problem or exc.context}"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(str(path), "", f"not valid YAML: {exc}"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(str(path), "", "the file must be a YAML mapping of fields"))
        return None
    return data


def _parse_rule(
    raw: dict[str, Any], file: str, valueset_ids: set[str], problems: list[Problem]
) -> Rule | None:
    found: list[Problem] = []
    data = dict(raw)
    if "conditions" in data:
        try:
            data["conditions"] = parse_condition(data["conditions"], "conditions", valueset_ids)
        except ConditionError as exc:
            found.extend(Problem(file, f, r) for f, r in exc.problems)
            # Stand in a valid leaf so the rest of the rule is still checked in the same pass.
            data["conditions"] = PLACEHOLDER
    rule: Rule | None = None
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        found.extend(Problem(file, f, r) for f, r in validation_problems("", exc, Rule))
    found.sort(key=_in_file_order)  # conditions problems are found first but read in field order
    problems.extend(found)
    return rule if not found else None


_FIELD_ORDER = list(Rule.model_fields)


def _in_file_order(problem: Problem) -> int:
    top = re.split(r"[.\[]", problem.field, maxsplit=1)[0]
    return _FIELD_ORDER.index(top) if top in _FIELD_ORDER else len(_FIELD_ORDER)


def _digest(root: Path, paths: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(b"\0")
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()
