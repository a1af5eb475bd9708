"""Parse a rule's `conditions:` tree into predicate models, naming the exact path of any problem.

A condition is either a combinator written as a one-key mapping (`all: [...]`, `any: [...]`,
`not: {...}`) or a leaf with a `type:` from schema.LEAF_TYPES. Parsing here, rather than with a
pydantic union, lets an error say "conditions.any[1].valueset" instead of union noise.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ed_alerts.evaluation.schema import (
    COMBINATORS,
    LEAF_TYPES,
    AllOf,
    AnswerEquals,
    AnyOf,
    CodedValueIn,
    HomeOutOfArea,
    NotOf,
    NumberAtLeast,
    Predicate,
)

FieldProblem = tuple[str, str]  # (dotted field path, reason)


class ConditionError(ValueError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = problems


def format_loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    """("any", 1, "valueset") under "conditions" -> "conditions.any[1].valueset"."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def clean_message(message: str) -> str:
    # pydantic prefixes errors raised by our validators; the reader does not need to know that.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def validation_problems(prefix: str, exc: ValidationError, model: type[BaseModel]) -> list[FieldProblem]:
    """pydantic's errors in words a rule author can act on."""
    problems: list[FieldProblem] = []
    for error in exc.errors():
        field = format_loc(prefix, error["loc"])
        if error["type"] == "missing":
            reason = "required field is missing"
        elif error["type"] == "extra_forbidden":
            allowed = _allowed_fields(model, error["loc"])
            reason = "unknown field" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        else:
            reason = clean_message(error["msg"])
            value = error.get("input")
            if (
                isinstance(value, (str, int, float))
                and not isinstance(value, bool)
                and repr(value) not in reason
            ):
                reason = f"{reason} (got {value!r})"
        problems.append((field, reason))
    return problems


def _allowed_fields(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    # Walk the model along the error's location to list what could have been meant.
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        annotation = getattr(info, "annotation", None)
        if annotation is None or not hasattr(annotation, "model_fields"):
            return []
        current = annotation
    return [info.alias or name for name, info in getattr(current, "model_fields", {}).items()]


def parse_condition(raw: Any, path: str, valueset_ids: Collection[str]) -> Predicate:
    """Build the predicate tree, checking that every value set it names exists.

    Every problem in the tree is collected before raising, so one pass shows them all.
    """
    problems: list[FieldProblem] = []
    predicate = _parse(raw, path, valueset_ids, problems)
    if problems:
        raise ConditionError(problems)
    return predicate


# Stands in for a broken subtree so parsing can go on and report the rest of the tree.
PLACEHOLDER = HomeOutOfArea(type="home_out_of_area")


def _parse(raw: Any, path: str, valueset_ids: Collection[str], problems: list[FieldProblem]) -> Predicate:
    if not isinstance(raw, Mapping):
        problems.append((path, "a condition must be a mapping: a 'type' with its fields, or all/any/not"))
        return PLACEHOLDER
    combinators = [key for key in COMBINATORS if key in raw]
    if combinators:
        key = combinators[0]
        if len(raw) != 1:
            others = ", ".join(sorted(str(k) for k in raw if k != key))
            problems.append((path, f"'{key}' must be the only key of its condition (also found: {others})"))
            return PLACEHOLDER
        return _parse_combinator(key, raw[key], f"{path}.{key}", valueset_ids, problems)
    if "type" not in raw:
        problems.append((path, f"missing 'type' (one of: {', '.join(LEAF_TYPES)}) or all/any/not"))
        return PLACEHOLDER
    kind = raw["type"]
    model = LEAF_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        problems.append(
            (
                f"{path}.type",
                f"unknown predicate type {kind!r}; known types: {', '.join(LEAF_TYPES)}, all, any, not",
            )
        )
        return PLACEHOLDER
    try:
        leaf = model.model_validate(dict(raw))
    except ValidationError as exc:
        problems.extend(validation_problems(path, exc, model))
        return PLACEHOLDER
    for field, valueset in _valueset_references(leaf):
        if valueset not in valueset_ids:
            known = ", ".join(sorted(valueset_ids)) or "none"
            problems.append((f"{path}.{field}", f"unknown value set {valueset!r} (known: {known})"))
    return leaf  # type: ignore[return-value]


def _parse_combinator(
    key: str, raw: Any, path: str, valueset_ids: Collection[str], problems: list[FieldProblem]
) -> Predicate:
    if key == "not":
        return NotOf(of=_parse(raw, path, valueset_ids, problems))
    if not isinstance(raw, list) or not raw:
        problems.append((path, f"'{key}' needs a non-empty list of conditions"))
        return PLACEHOLDER
    children = tuple(_parse(child, f"{path}[{i}]", valueset_ids, problems) for i, child in enumerate(raw))
    return AllOf(of=children) if key == "all" else AnyOf(of=children)


def _valueset_references(leaf: object) -> Iterator[tuple[str, str]]:
    if isinstance(leaf, CodedValueIn):
        yield "valueset", leaf.valueset
    if isinstance(leaf, (AnswerEquals, NumberAtLeast)) and leaf.question_valueset is not None:
        yield "question_valueset", leaf.question_valueset


def walk(predicate: Predicate) -> Iterator[Predicate]:
    """Every node of a tree, parents before children, in file order."""
    for _, node in walk_with_paths(predicate):
        yield node


def walk_with_paths(predicate: Predicate, path: str = "conditions") -> Iterator[tuple[str, Predicate]]:
    """Every node with its path as a rule file spells it ("conditions.any[1]")."""
    yield path, predicate
    if isinstance(predicate, (AllOf, AnyOf)):
        key = "all" if isinstance(predicate, AllOf) else "any"
        for index, child in enumerate(predicate.of):
            yield from walk_with_paths(child, f"{path}.{key}[{index}]")
    elif isinstance(predicate, NotOf):
        yield from walk_with_paths(predicate.of, f"{path}.not")
