"""The code lists the violence export reads: the ISTV code maps in rules/istv/ and the question value
sets in rules/valuesets/.

A code map (`rules/istv/<id>.yaml`, format in rules/istv/README.md) turns codes into one ISB 1594
category, such as the assault method `knife_or_sharp_object`. Its categories are listed in order of
precedence, and each lists its codes per code system in the rule pack's own value-set notation, so
matching (ICD-10 by prefix and range, SNOMED CT and local codes exactly) is the rule engine's
`ValueSetMatcher`. The questions whose answers are read (method, location, time, ...) are ordinary
value sets of the rule pack. Anything that does not load raises `CodeMapError`, naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ed_alerts.domain import CodeSystem, Coding
from ed_alerts.errors import DomainError
from ed_alerts.evaluation import RulePack
from ed_alerts.evaluation.conditions import validation_problems
from ed_alerts.evaluation.valuesets import ValueSet, ValueSetCode, ValueSetMatcher

CODE_MAPS_SUBDIR = "istv"
METHOD_MAP = "assault-method"
LOCATION_MAP = "assault-location-type"
NOT_KNOWN = "not_known"  # every field's answer when nothing the feed sent says


class CodeMapError(DomainError):
    """The export's code lists are missing or wrong: a configuration fault, not the caller's."""

    status_code = 500


def _plain_codes(value: object) -> object:
    # As in rules/valuesets: `- Y04` when there is nothing to add about a code.
    if isinstance(value, list):
        return [{"code": v} if isinstance(v, (str, int)) and not isinstance(v, bool) else v for v in value]
    return value


def _check_codes(system: CodeSystem, codes: list[ValueSetCode]) -> list[ValueSetCode]:
    """The rule pack's own checks of a code list (an ICD-10 code or range, a SNOMED CT id, no repeats)."""
    if not codes:
        return codes
    try:
        ValueSet(id="check", title="check", system=system, source="check", codes=codes)
    except ValidationError as exc:
        raise ValueError("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None
    return codes


class Category(BaseModel):
    """One value of an ISB 1594 field, and the codes that mean it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    icd10: list[ValueSetCode] = Field(default_factory=list)
    snomed: list[ValueSetCode] = Field(default_factory=list)
    local: list[ValueSetCode] = Field(default_factory=list)

    @field_validator("icd10", "snomed", "local", mode="before")
    @classmethod
    def _plain_strings_are_codes(cls, value: object) -> object:
        return _plain_codes(value)

    @field_validator("icd10")
    @classmethod
    def _icd10(cls, codes: list[ValueSetCode]) -> list[ValueSetCode]:
        return _check_codes(CodeSystem.ICD10, codes)

    @field_validator("snomed")
    @classmethod
    def _snomed(cls, codes: list[ValueSetCode]) -> list[ValueSetCode]:
        return _check_codes(CodeSystem.SNOMED, codes)

    @field_validator("local")
    @classmethod
    def _local(cls, codes: list[ValueSetCode]) -> list[ValueSetCode]:
        return _check_codes(CodeSystem.LOCAL, codes)


class CodeMap(BaseModel):
    """One file in rules/istv/."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    element: str = Field(min_length=1, description="the ISB 1594 data element this map fills")
    title: str = Field(min_length=1)
    source: str = Field(min_length=1, description="where the categories and codes come from, and how sure we are")
    categories: list[Category] = Field(min_length=1)
    description_words: frozenset[str] = frozenset()

    @field_validator("categories")
    @classmethod
    def _distinct(cls, categories: list[Category]) -> list[Category]:
        seen: set[str] = set()
        for category in categories:
            if category.value == NOT_KNOWN:
                raise ValueError(f"{NOT_KNOWN!r} is what the export says when no code matches; do not list it")
            if category.value in seen:
                raise ValueError(f"category {category.value!r} is listed twice")
            seen.add(category.value)
        return categories

    @field_validator("description_words", mode="before")
    @classmethod
    def _words(cls, words: object) -> object:
        if isinstance(words, list):
            bad = [w for w in words if not (isinstance(w, str) and w.isascii() and w.isalpha() and w.islower())]
            if bad:
                raise ValueError(f"description words are single lower-case words of letters a-z; not {bad[:5]!r}")
            return frozenset(words)
        return words


@dataclass(frozen=True)
class CategoryMatch:
    """A code that one category of a map claims. `display` is our list's words, never the feed's."""

    value: str
    label: str
    display: str | None
    rank: int  # the category's place in the map: lower wins


@dataclass(frozen=True)
class CodeMapMatcher:
    code_map: CodeMap
    _entries: tuple[tuple[int, Category, ValueSetMatcher, dict[str, str | None]], ...]

    @classmethod
    def build(cls, code_map: CodeMap) -> CodeMapMatcher:
        entries = []
        for rank, category in enumerate(code_map.categories):
            for system in (CodeSystem.ICD10, CodeSystem.SNOMED, CodeSystem.LOCAL):
                codes: list[ValueSetCode] = getattr(category, system.value)
                if not codes:
                    continue
                valueset = ValueSet(id=f"{code_map.id}-{category.value.replace('_', '-')}-{system.value}",
                                    title=category.label, system=system, source=code_map.source, codes=codes)
                entries.append((rank, category, valueset.matcher(), {c.code.strip(): c.display for c in codes}))
        return cls(code_map, tuple(entries))

    def match(self, coding: Coding | None) -> CategoryMatch | None:
        """The highest-precedence category that claims this code, if any."""
        for rank, category, matcher, displays in self._entries:
            found = matcher.match(coding)
            if found is not None:
                return CategoryMatch(category.value, category.label, displays.get(found.entry), rank)
        return None

    def best(self, codings: Iterable[Coding | None]) -> CategoryMatch | None:
        """Of several codes, the one whose category comes first in the map."""
        matches = [m for m in (self.match(c) for c in codings) if m is not None]
        return min(matches, key=lambda m: m.rank) if matches else None


class _NoBooleansLoader(yaml.SafeLoader):
    """Safe YAML without YAML 1.1's booleans, which would read the place word `on` or a code `NO`
    as true or false. Nothing in a code map is a boolean."""


_NoBooleansLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_code_map(path: Path) -> CodeMap:
    try:
        # A SafeLoader subclass: no arbitrary objects.
        data: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoBooleansLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CodeMapError(f"the violence export's code map {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise CodeMapError(f"the violence export's code map {path} must be a YAML mapping of fields")
    try:
        return CodeMap.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {reason}" if field else reason
                             for field, reason in validation_problems("", exc, CodeMap))
        raise CodeMapError(f"the violence export's code map {path} is invalid: {problems}") from exc


@dataclass(frozen=True)
class IstvCodes:
    """Everything the export matches codes against, loaded together."""

    method: CodeMapMatcher
    location: CodeMapMatcher
    method_questions: ValueSetMatcher
    weapon_questions: ValueSetMatcher
    location_questions: ValueSetMatcher
    description_questions: ValueSetMatcher
    time_questions: ValueSetMatcher
    assailant_questions: ValueSetMatcher

    @property
    def description_words(self) -> frozenset[str]:
        return self.location.code_map.description_words

    @classmethod
    def load(cls, pack: RulePack, folder: Path | None = None) -> IstvCodes:
        """Read the maps in `folder` (default: the pack's istv/ folder); take the questions from the pack.

        Read per export rather than once at start: exports are rare, the files are small, and an
        edited map is then used without a restart.
        """
        folder = folder or pack.root / CODE_MAPS_SUBDIR

        def question(valueset_id: str) -> ValueSetMatcher:
            if valueset_id not in pack.valuesets:
                raise CodeMapError(f"the rule pack in {pack.root} has no value set {valueset_id!r}, "
                                   "which the violence export reads")
            return pack.matcher(valueset_id)

        return cls(
            method=CodeMapMatcher.build(load_code_map(folder / f"{METHOD_MAP}.yaml")),
            location=CodeMapMatcher.build(load_code_map(folder / f"{LOCATION_MAP}.yaml")),
            method_questions=question("assault-method-questions"),
            weapon_questions=question("weapon-questions"),
            location_questions=question("assault-location-questions"),
            description_questions=question("assault-location-description-questions"),
            time_questions=question("assault-time-questions"),
            assailant_questions=question("assailant-count-questions"),
        )
