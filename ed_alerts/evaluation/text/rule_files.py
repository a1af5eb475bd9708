"""Read and check the NLP rule folder (`rules/nlp/`): word classes, target concepts, context cues.

Folder layout:

    lexicon.yaml        classes: {fear: [scared, ...], place: [...]}  word classes used as <name>;
                        merged_classes: classes whose several-word entries may be merged
    settings.yaml       clause_breaks, exclusion_order, model: {enabled, threshold}
    model/              classifier.json for the optional sentence model (see model.py)
    targets/*.yaml      one concept per file: concept, description, uncertain, report, phrases
    context/*.yaml      one ConText category per file: category, groups of phrases with a direction

Only the shape of the files is checked here; templates are compiled (and so fully checked) when
the pipeline is built, against the notes' tokenizer. Every problem is collected before raising so
a reviewer fixes a folder in one pass; the service refuses to start with a bad folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ed_alerts.evaluation.errors import Problem, RulePackError

# ConText categories the assertion step understands (see assertion.py). A typo in a category
# would otherwise be a cue that silently does nothing.
KNOWN_CATEGORIES = frozenset(
    {
        "NEGATED_EXISTENCE",
        "POSSIBLE_EXISTENCE",
        "HYPOTHETICAL",
        "HISTORICAL",
        "CURRENT",
        "OTHER_EXPERIENCER",
        "PATIENT_EXPERIENCER",
        "PROFESSIONAL_CONCERN",
        "RESOLVED",
        "SAFE_STATEMENT",
        "PSEUDO",
        "TERMINATE",
        "CLAUSE_BREAK",
    }
)
DIRECTIONS = frozenset({"FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"})
RESERVED_CONCEPT = "model_suspected"  # reported by the sentence model (model.py), not by a target file
EXCLUSION_REASONS = (
    "negated",
    "other_experiencer",
    "professional_concern",
    "hypothetical",
    "historical",
    "resolved",
)


@dataclass(frozen=True)
class ConceptSpec:
    """A target concept: what a child may say, in templates."""

    name: str
    description: str
    uncertain: bool  # every mention is itself uncertain ("unclear if pt feels safe")
    report: bool  # False for "other sense" blockers ("safe to discharge") that only absorb matches
    phrases: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ModifierGroup:
    """ConText cues of one category sharing a direction and scope."""

    category: str
    direction: str
    max_scope: int | None
    terminated_by: tuple[str, ...]
    third_party_report: bool  # the cue says someone else relays what the child told them
    phrases: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ModelSettings:
    """The optional sentence model (model.py): off unless settings.yaml turns it on."""

    enabled: bool = False
    threshold: float = 0.5  # probability at or above which a rule-silent sentence is suspected


@dataclass(frozen=True)
class NlpSettings:
    clause_breaks: tuple[str, ...]
    exclusion_order: tuple[str, ...]
    model: ModelSettings = ModelSettings()


@dataclass(frozen=True)
class NlpRuleFolder:
    folder: Path
    lexicon: dict[str, tuple[str, ...]]
    merged_classes: frozenset[str]
    concepts: tuple[ConceptSpec, ...]
    modifier_groups: tuple[ModifierGroup, ...]
    settings: NlpSettings


def load_rule_folder(folder: Path) -> NlpRuleFolder:
    """Read every file of the folder; raises RulePackError listing every problem found."""
    problems: list[Problem] = []
    if not folder.is_dir():
        raise RulePackError.single(str(folder), "", "NLP rule folder does not exist")
    lexicon, merged = _load_lexicon(folder / "lexicon.yaml", problems)
    settings = _load_settings(folder / "settings.yaml", problems)
    concepts = tuple(
        concept
        for path in sorted((folder / "targets").glob("*.yaml"))
        if (concept := _load_concept(path, problems)) is not None
    )
    groups = tuple(
        group
        for path in sorted((folder / "context").glob("*.yaml"))
        for group in _load_context(path, problems)
    )
    if not concepts:
        problems.append(Problem(str(folder / "targets"), "", "no target concept files (*.yaml)"))
    names = [concept.name for concept in concepts]
    if RESERVED_CONCEPT in names:
        problems.append(
            Problem(
                str(folder / "targets"), "concept", f"{RESERVED_CONCEPT!r} is reserved for the sentence model"
            )
        )
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(
            Problem(str(folder / "targets"), "concept", f"concept {name!r} defined more than once")
        )
    if problems:
        raise RulePackError(problems)
    assert settings is not None  # a missing settings file is a problem raised above
    return NlpRuleFolder(folder, lexicon, merged, concepts, groups, settings)


def _read_yaml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    if not path.is_file():
        problems.append(Problem(str(path), "", "file is missing"))
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        problems.append(Problem(str(path), "", f"not valid YAML: {err}"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(str(path), "", "must be a mapping at the top level"))
        return None
    return data


def _string_list(value: Any, path: Path, field: str, problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append(Problem(str(path), field, "must be a non-empty list of strings"))
        return ()
    bad = [i for i, item in enumerate(value) if not isinstance(item, str) or not item.strip()]
    for i in bad:
        problems.append(Problem(str(path), f"{field}[{i}]", "must be a non-empty string"))
    return tuple(item for item in value if isinstance(item, str) and item.strip())


def _load_lexicon(path: Path, problems: list[Problem]) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    data = _read_yaml(path, problems)
    if data is None:
        return {}, frozenset()
    classes = data.get("classes")
    if not isinstance(classes, dict) or not classes:
        problems.append(Problem(str(path), "classes", "must map class names to word lists"))
        return {}, frozenset()
    lexicon = {
        str(name): _string_list(words, path, f"classes.{name}", problems) for name, words in classes.items()
    }
    merged = data.get("merged_classes", [])
    if not isinstance(merged, list) or any(name not in lexicon for name in merged):
        problems.append(
            Problem(str(path), "merged_classes", "must list names of classes defined under classes")
        )
        merged = []
    return lexicon, frozenset(merged)


def _load_settings(path: Path, problems: list[Problem]) -> NlpSettings | None:
    data = _read_yaml(path, problems)
    if data is None:
        return None
    breaks = data.get("clause_breaks", [])
    if not isinstance(breaks, list) or not all(isinstance(b, str) for b in breaks):
        problems.append(Problem(str(path), "clause_breaks", "must be a list of strings"))
        breaks = []
    order = _string_list(data.get("exclusion_order"), path, "exclusion_order", problems)
    if order and sorted(order) != sorted(EXCLUSION_REASONS):
        problems.append(
            Problem(
                str(path), "exclusion_order", f"must list each of {', '.join(EXCLUSION_REASONS)} exactly once"
            )
        )
    return NlpSettings(tuple(breaks), order, _model_settings(data.get("model"), path, problems))


def _model_settings(value: Any, path: Path, problems: list[Problem]) -> ModelSettings:
    if value is None:
        return ModelSettings()
    if not isinstance(value, dict):
        problems.append(Problem(str(path), "model", "must be a mapping with enabled and threshold"))
        return ModelSettings()
    unknown = sorted(set(value) - {"enabled", "threshold"})
    if unknown:
        problems.append(
            Problem(str(path), f"model.{unknown[0]}", "unknown setting (known: enabled, threshold)")
        )
    enabled = value.get("enabled", False)
    if not isinstance(enabled, bool):
        problems.append(Problem(str(path), "model.enabled", "must be true or false"))
        enabled = False
    threshold = value.get("threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold < 1.0:
        problems.append(Problem(str(path), "model.threshold", "must be a probability between 0 and 1"))
        threshold = 0.5
    return ModelSettings(enabled, float(threshold))


def _load_concept(path: Path, problems: list[Problem]) -> ConceptSpec | None:
    data = _read_yaml(path, problems)
    if data is None:
        return None
    name = data.get("concept")
    if not isinstance(name, str) or not name.isidentifier():
        problems.append(Problem(str(path), "concept", "must be a name like fear_of_place"))
        return None
    flags = {}
    for flag, default in (("uncertain", False), ("report", True)):
        value = data.get(flag, default)
        if not isinstance(value, bool):
            problems.append(Problem(str(path), flag, "must be true or false"))
            value = default
        flags[flag] = value
    phrases = _string_list(data.get("phrases"), path, "phrases", problems)
    return ConceptSpec(
        name=name,
        description=str(data.get("description", "")).strip(),
        uncertain=flags["uncertain"],
        report=flags["report"],
        phrases=phrases,
        source=str(path),
    )


def _load_context(path: Path, problems: list[Problem]) -> list[ModifierGroup]:
    data = _read_yaml(path, problems)
    if data is None:
        return []
    category = data.get("category")
    if category not in KNOWN_CATEGORIES:
        problems.append(
            Problem(str(path), "category", f"must be one of {', '.join(sorted(KNOWN_CATEGORIES))}")
        )
        return []
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        problems.append(Problem(str(path), "groups", "must be a non-empty list"))
        return []
    loaded: list[ModifierGroup] = []
    for i, group in enumerate(groups):
        field = f"groups[{i}]"
        if not isinstance(group, dict):
            problems.append(Problem(str(path), field, "must be a mapping"))
            continue
        direction = str(group.get("direction", "")).upper()
        if direction not in DIRECTIONS:
            problems.append(
                Problem(str(path), f"{field}.direction", f"must be one of {', '.join(sorted(DIRECTIONS))}")
            )
            continue
        max_scope = group.get("max_scope")
        if max_scope is not None and (not isinstance(max_scope, int) or max_scope <= 0):
            problems.append(
                Problem(str(path), f"{field}.max_scope", "must be a positive whole number of words")
            )
            continue
        terminated_by = group.get("terminated_by", [])
        unknown = (
            [c for c in terminated_by if c not in KNOWN_CATEGORIES]
            if isinstance(terminated_by, list)
            else [1]
        )
        if unknown:
            problems.append(Problem(str(path), f"{field}.terminated_by", "must list known categories"))
            continue
        third_party = group.get("third_party_report", False)
        if not isinstance(third_party, bool):
            problems.append(Problem(str(path), f"{field}.third_party_report", "must be true or false"))
            continue
        loaded.append(
            ModifierGroup(
                category=category,
                direction=direction,
                max_scope=max_scope,
                terminated_by=tuple(terminated_by),
                third_party_report=third_party,
                phrases=_string_list(group.get("phrases"), path, f"{field}.phrases", problems),
                source=str(path),
            )
        )
    return loaded
