"""Compile phrase templates from `rules/nlp/` into spaCy Matcher token patterns.

A clinical safety officer writes a concept once as a template instead of listing every sentence:

    <fear> to <go> <place>            one word from each word class in lexicon.yaml
    (can't|cannot|won't) go back      inline alternatives; an alternative may be several words
    <intensifier>?                    `?` after any item makes it optional
    *3                                up to 3 further words (no punctuation, same sentence)
    **3                               up to 3 further tokens, punctuation allowed ("brother (not attending) is")
    ~threatened                       the word or a one-letter slip of it ("thretened")
    ^                                 the next word starts a sentence
    ?                                 standing alone: a literal question mark ("?not safe")

Words go through the same tokenizer as the notes, so "can't" and "gonna" match however the
tokenizer splits them ("n't", "'s" and other clitics written alone stay one token, as they are
inside a note). One template may expand to several token patterns, because spaCy matches one
token per slot. For the classes the lexicon lists under `merged_classes`, several-word entries
are merged position by position ("foster carer", "best mate" -> [foster|best][carer|mate]): their
entries are interchangeable, so the odd extra combinations ("best carer") are harmless and keep
the pattern count small. Other classes and inline ( | ) alternatives expand exactly. Expansion is
capped so a careless template fails loudly at start instead of making the matcher slow.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace

TokenSpec = dict[str, object]
TokenPattern = list[TokenSpec]

MAX_PATTERNS_PER_TEMPLATE = 4000
# Fuzzy matching of short words ("feel" ~ "fell", "safe" ~ "same") would match ordinary words.
MIN_FUZZY_LENGTH = 6

_ITEM = re.compile(
    r"""\s*(?:
        (?P<group>\((?P<alts>[^()]*)\))(?P<gopt>\?)? |
        <(?P<cls>[a-z0-9_]+)>(?P<copt>\?)? |
        \*\*(?P<pgap>\d+) |
        \*(?P<gap>\d+) |
        (?P<anchor>\^) |
        (?P<word>[^\s()<>]+)
    )""",
    re.VERBOSE,
)


_CLITICS = frozenset({"n't", "'s", "'re", "'ll", "'m", "'d", "'ve", "'"})


class TemplateError(ValueError):
    """A template that cannot be compiled; the message says which part and why."""


@dataclass(frozen=True)
class _Alternative:
    """One way to fill a slot: a run of exact words, or one fuzzy word, or one regex word."""

    words: tuple[str, ...] = ()
    fuzzy: str | None = None
    regex: str | None = None
    from_class: bool = False  # from a merged class: may be merged position by position


@dataclass(frozen=True)
class _Slot:
    alternatives: tuple[_Alternative, ...]
    optional: bool = False
    sentence_start: bool = False


@dataclass(frozen=True)
class _Gap:
    most: int
    punctuation: bool = False


Tokenize = Callable[[str], list[str]]


class TemplateCompiler:
    """Turns templates into token patterns using a word-class lexicon and the notes' tokenizer."""

    def __init__(
        self, lexicon: Mapping[str, Sequence[str]], tokenize: Tokenize, merged_classes: Collection[str] = ()
    ) -> None:
        self._tokenize = tokenize
        self._classes: dict[str, tuple[_Alternative, ...]] = {}
        for name, entries in lexicon.items():
            self._classes[name] = tuple(
                replace(self._entry(entry, f"<{name}>"), from_class=name in merged_classes)
                for entry in entries
            )

    def class_names(self) -> set[str]:
        return set(self._classes)

    def compile(self, template: str) -> list[TokenPattern]:
        slots = self._parse(template)
        branches_per_slot = [self._branches(slot) for slot in slots]
        total = 1
        for branches in branches_per_slot:
            total *= len(branches)
        if total > MAX_PATTERNS_PER_TEMPLATE:
            raise TemplateError(
                f"expands to {total} token patterns (limit {MAX_PATTERNS_PER_TEMPLATE}); "
                "split it or move multi-word alternatives into their own template"
            )
        patterns: list[TokenPattern] = []
        seen: set[str] = set()
        for combination in itertools.product(*branches_per_slot):
            pattern = [spec for branch in combination for spec in branch]
            if not pattern or all(spec.get("OP") in ("?", "*") or _is_gap(spec) for spec in pattern):
                continue  # a pattern that can match nothing would match everywhere
            key = repr(pattern)
            if key not in seen:
                seen.add(key)
                patterns.append(pattern)
        if not patterns:
            raise TemplateError("matches no words: every part is optional")
        return patterns

    # -- parsing -----------------------------------------------------------------------------------

    def _parse(self, template: str) -> list[_Slot | _Gap]:
        slots: list[_Slot | _Gap] = []
        anchor_next = False
        position = 0
        text = template.strip()
        if not text:
            raise TemplateError("empty template")
        while position < len(text):
            found = _ITEM.match(text, position)
            if found is None or found.end() == position:
                raise TemplateError(f"cannot read {text[position:]!r}")
            position = found.end()
            if found.group("anchor"):
                anchor_next = True
                continue
            if found.group("gap") or found.group("pgap"):
                slots.append(_Gap(int(found.group("gap") or found.group("pgap")), bool(found.group("pgap"))))
                continue
            if found.group("group"):
                alternatives = tuple(
                    alt for text in found.group("alts").split("|") for alt in self._alternatives(text.strip())
                )
                if any(not alt.words and alt.fuzzy is None and alt.regex is None for alt in alternatives):
                    raise TemplateError(f"empty alternative in {found.group('group')!r}")
                slots.append(_Slot(alternatives, bool(found.group("gopt")), anchor_next))
            elif found.group("cls"):
                slots.append(_Slot(self._class(found.group("cls")), bool(found.group("copt")), anchor_next))
            else:
                word = found.group("word")
                optional = len(word) > 1 and word.endswith("?")
                if optional:
                    word = word[:-1]
                slots.append(_Slot((self._entry(word, template),), optional, anchor_next))
            anchor_next = False
        if anchor_next:
            raise TemplateError("'^' must come before a word")
        return slots

    def _class(self, name: str) -> tuple[_Alternative, ...]:
        if name not in self._classes:
            raise TemplateError(f"unknown word class <{name}>; known: {', '.join(sorted(self._classes))}")
        return self._classes[name]

    def _alternatives(self, text: str) -> tuple[_Alternative, ...]:
        """One alternative inside ( | ): words, or a whole <class> standing for all its words."""
        whole_class = re.fullmatch(r"<([a-z0-9_]+)>", text)
        if whole_class:
            return self._class(whole_class.group(1))
        if "<" in text:
            raise TemplateError(f"a word class must be a whole alternative, not part of {text!r}")
        return (self._entry(text, text),)

    def _entry(self, entry: str, where: str) -> _Alternative:
        entry = entry.strip()
        if entry.startswith("re:"):
            body = entry[3:]
            try:
                re.compile(body)
            except re.error as err:
                raise TemplateError(f"bad regular expression {body!r} in {where}: {err}") from err
            return _Alternative(regex=f"^(?:{body})$")
        if entry.startswith("~"):
            word = entry[1:].lower()
            if len(word) < MIN_FUZZY_LENGTH or len(self._tokenize(word)) != 1:
                raise TemplateError(
                    f"fuzzy word {entry!r} in {where} must be one word of at least {MIN_FUZZY_LENGTH} letters"
                )
            return _Alternative(fuzzy=word)
        if entry in _CLITICS or (" " not in entry and entry.startswith("'")):
            # Alone, "n't" would be split into n ' t; inside a note it is one token.
            return _Alternative(words=(entry.lower(),))
        words = tuple(token.lower() for token in self._tokenize(entry))
        if not words:
            raise TemplateError(f"empty word in {where}")
        return _Alternative(words=words)

    # -- expansion ---------------------------------------------------------------------------------

    def _branches(self, slot: _Slot | _Gap) -> list[TokenPattern]:
        if isinstance(slot, _Gap):
            # Gaps never cross a sentence start; plain gaps not punctuation either, so "not ... safe"
            # stays in one clause.
            spec: TokenSpec = {"IS_SENT_START": False, "OP": f"{{0,{slot.most}}}"}
            if not slot.punctuation:
                spec["IS_PUNCT"] = False
            return [[spec]]
        exact_single = sorted({alt.words[0] for alt in slot.alternatives if len(alt.words) == 1})
        fuzzy = sorted({alt.fuzzy for alt in slot.alternatives if alt.fuzzy})
        branches: list[TokenPattern] = []
        if exact_single:
            branches.append([{"LOWER": {"IN": exact_single}}])
        if fuzzy:
            branches.append([{"LOWER": {"FUZZY1": {"IN": fuzzy}}}])
        merged: dict[int, list[set[str]]] = {}
        for alt in slot.alternatives:
            if alt.regex:
                branches.append([{"LOWER": {"REGEX": alt.regex}}])
            elif len(alt.words) > 1 and alt.from_class:
                positions = merged.setdefault(len(alt.words), [set() for _ in alt.words])
                for position, word in zip(positions, alt.words):
                    position.add(word)
            elif len(alt.words) > 1:
                branches.append([{"LOWER": word} for word in alt.words])
        for length in sorted(merged):
            branches.append([{"LOWER": {"IN": sorted(words)}} for words in merged[length]])
        if slot.sentence_start:
            branches = [[{**branch[0], "IS_SENT_START": True}, *branch[1:]] for branch in branches]
        if slot.optional:
            if len(branches) == 1 and len(branches[0]) == 1:
                return [[{**branches[0][0], "OP": "?"}]]
            branches.append([])
        return branches


def _is_gap(spec: TokenSpec) -> bool:
    return "OP" in spec and str(spec["OP"]).startswith("{")
