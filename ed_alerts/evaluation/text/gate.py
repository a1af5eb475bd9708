"""A cheap, exact pre-check: could any reported target phrase match somewhere in this text?

spaCy's Matcher tries every one of the ~4,000 compiled target patterns at every token, and ConText
then does the same with its cues: most of the detector's cost, paid even for "twisted ankle playing
football". A pattern can only match where every one of its required tokens (those without an `OP`)
occurs, so a text that lacks a required token of every pattern can have no finding. The gate checks
exactly that on the tokenizer's output (a fraction of a millisecond) and lets the detector skip the
sentence splitter, the matcher and ConText for such texts, with the same result as running them.

Required tokens come in three kinds, as the template compiler writes them: a word list (`LOWER`/`IN`),
a fuzzy word list (`FUZZY1`) and a regular expression. Each pattern is indexed under the rarest of its
word lists, so a text only checks the few patterns whose rarest word it contains; patterns with no
word list at all are checked for every text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["words", "fuzzy", "regex"]


@dataclass(frozen=True)
class Requirement:
    """One token a pattern needs: a word from a list, a word within one edit of a list, or a regex."""

    kind: Kind
    words: frozenset[str] = frozenset()
    regex: str = ""

    def met_by(self, tokens: frozenset[str]) -> bool:
        if self.kind == "words":
            return not self.words.isdisjoint(tokens)
        if self.kind == "fuzzy":
            from spacy.matcher.levenshtein import levenshtein_compare  # the Matcher's own FUZZY1 test

            return any(levenshtein_compare(token, word, 1) for token in tokens for word in self.words)
        pattern = re.compile(self.regex)
        return any(pattern.search(token) for token in tokens)


def requirement(spec: Mapping[str, object]) -> Requirement | None:
    """The requirement of one token spec, or None when the token is optional or unconstrained."""
    if "OP" in spec:
        return None
    value = spec.get("LOWER")
    if isinstance(value, str):
        return Requirement("words", frozenset([value]))
    if isinstance(value, Mapping):
        if "IN" in value:
            return Requirement("words", frozenset(value["IN"]))
        if "FUZZY1" in value:
            return Requirement("fuzzy", frozenset(value["FUZZY1"]["IN"]))
        if "REGEX" in value:
            return Requirement("regex", regex=str(value["REGEX"]))
    # A spec that constrains something the gate does not read (IS_SENT_START alone, say): a pattern
    # made only of such specs has no requirement and is checked against every text.
    return None


class TargetGate:
    """Built once from the reported concepts' token patterns; `admits(tokens)` per text."""

    def __init__(self, patterns: Iterable[Sequence[Mapping[str, object]]]) -> None:
        ids: dict[Requirement, int] = {}
        distinct: set[frozenset[Requirement]] = set()
        for pattern in patterns:
            distinct.add(frozenset(r for r in (requirement(spec) for spec in pattern) if r is not None))
        self.patterns = len(distinct)
        # A pattern with no requirement could match any text: the gate must then let every text in.
        self._always = frozenset() in distinct
        for needs in distinct:
            for need in needs:
                ids.setdefault(need, len(ids))
        self._requirements = list(ids)
        # word -> bit set of the word-list requirements it meets
        self._word_bits: dict[str, int] = {}
        for need, i in ids.items():
            if need.kind == "words":
                for word in need.words:
                    self._word_bits[word] = self._word_bits.get(word, 0) | (1 << i)
        # Each pattern is filed under one of its word-list requirements, the one least likely to be
        # met by ordinary text, so a text only looks at patterns whose rarest requirement it meets.
        self._by_key: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        self._unkeyed: list[tuple[int, tuple[int, ...]]] = []
        for needs in distinct:
            if not needs:
                continue
            words = [n for n in needs if n.kind == "words"]
            mask = sum(1 << ids[n] for n in words)
            others = tuple(ids[n] for n in needs if n.kind != "words")
            if words:
                key = min(words, key=_commonness)
                self._by_key.setdefault(ids[key], []).append((mask, others))
            else:
                self._unkeyed.append((mask, others))

    def admits(self, tokens: Iterable[str]) -> bool:
        """True when some pattern has every required token among `tokens` (lower-cased words)."""
        if self._always:
            return True
        present = frozenset(tokens)
        met = 0
        for token in present:
            met |= self._word_bits.get(token, 0)
        known: dict[int, bool] = {}

        def others_met(others: tuple[int, ...]) -> bool:
            for i in others:
                if i not in known:
                    known[i] = self._requirements[i].met_by(present)
                if not known[i]:
                    return False
            return True

        bits = met
        while bits:
            low = bits & -bits
            bits ^= low
            for mask, others in self._by_key.get(low.bit_length() - 1, ()):
                if mask & met == mask and others_met(others):
                    return True
        return any(others_met(others) for _, others in self._unkeyed)


def _commonness(need: Requirement) -> tuple[int, int]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return sum(word in STOP_WORDS or len(word) < 3 for word in need.words), len(need.words)
