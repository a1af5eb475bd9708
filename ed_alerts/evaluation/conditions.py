"""Parse a rule's `conditions:` tree into predicate models, naming the exact path of any problem.

A condition is either a combinator written as a one-key mapping (`all: [...]`, `any: [...]`,
`not: {...}`) or a leaf with a `type:` from schema.LEAF_TYPES. Parsing here, rather than with a
pydantic union, lets an error say "conditions.any[1].valueset" instead of union noise.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from ed_alerts.evaluation.schema import (COMBINATORS, LEAF_TYPES, AllOf, AnswerEquals, AnyOf, CodedValueIn, NotOf,
                                         NumberAtLeast, Predicate)


class ConditionError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


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
            return message[len(prefix):]
    return message


def parse_condition(raw: Any, path: str, valueset_ids: Collection[str]) -> Predicate:
    """Build the predicate tree, checking that every value set it names exists."""
    if not isinstance(raw, Mapping):
        raise ConditionError(path, "a condition must be a mapping: a 'type' with its fields, or all/any/not")
    combinators = [key for key in COMBINATORS if key in raw]
    if combinators:
        key = combinators[0]
        if len(raw) != 1:
            others = ", ".join(sorted(str(k) for k in raw if k != key))
            raise ConditionError(path, f"'{key}' must be the only key of its condition (also found: {others})")
        return _parse_combinator(key, raw[key], f"{path}.{key}", valueset_ids)
    if "type" not in raw:
        raise ConditionError(path, f"missing 'type' (one of: {', '.join(LEAF_TYPES)}) or all/any/not")
    kind = raw["type"]
    model = LEAF_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ConditionError(f"{path}.type",
                             f"unknown predicate type {kind!r}; known types: {', '.join(LEAF_TYPES)}, all, any, not")
    try:
        leaf = model.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConditionError(format_loc(path, first["loc"]), clean_message(first["msg"])) from None
    for field, valueset in _valueset_references(leaf):
        if valueset not in valueset_ids:
            known = ", ".join(sorted(valueset_ids)) or "none"
            raise ConditionError(f"{path}.{field}", f"unknown value set {valueset!r} (known: {known})")
    return leaf  # type: ignore[return-value]


def _parse_combinator(key: str, raw: Any, path: str, valueset_ids: Collection[str]) -> Predicate:
    if key == "not":
        return NotOf(of=parse_condition(raw, path, valueset_ids))
    if not isinstance(raw, list) or not raw:
        raise ConditionError(path, f"'{key}' needs a non-empty list of conditions")
    children = tuple(parse_condition(child, f"{path}[{i}]", valueset_ids) for i, child in enumerate(raw))
    return AllOf(of=children) if key == "all" else AnyOf(of=children)


def _valueset_references(leaf: object) -> Iterator[tuple[str, str]]:
    if isinstance(leaf, CodedValueIn):
        yield "valueset", leaf.valueset
    if isinstance(leaf, (AnswerEquals, NumberAtLeast)) and leaf.question_valueset is not None:
        yield "question_valueset", leaf.question_valueset


def walk(predicate: Predicate) -> Iterator[Predicate]:
    """Every node of a tree, parents before children, in file order."""
    yield predicate
    if isinstance(predicate, (AllOf, AnyOf)):
        for child in predicate.of:
            yield from walk(child)
    elif isinstance(predicate, NotOf):
        yield from walk(predicate.of)
