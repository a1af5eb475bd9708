"""Find rule-file phrases in free text, skipping plainly negated mentions.

This is the deliberately simple matcher behind `text_mentions` (weapon words, "jumped by 3 lads").
The clinical NLP that understands who said what, hypotheticals and history lives in
`ed_alerts/evaluation/text/` and is used by `text_disclosure` instead.

Phrases are regular expressions matched case-insensitively on whole words; a space in a phrase
matches any run of whitespace, and an optional space (" ?") optional whitespace.

A match is skipped when a negation cue ("no", "not", "denies"...) comes before it in the same
sentence and within a few words, so "denies any knife" is skipped but "Not sure what happened,
then he was stabbed" still counts: missing a child is worse than a flag a nurse dismisses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_NEGATION_CUES: tuple[str, ...] = ("no", "not", "denies", "denied", "never")
NEGATION_WINDOW_WORDS = 5
_SENTENCE_END = re.compile(r"[.!?;\n]")
_WORD = re.compile(r"[\w']+")


def _whitespace(found: re.Match[str]) -> str:
    # "head ?butted" must match "headbutted" too: an optional space is optional whitespace.
    return r"\s*" if found.group(1) in ("?", "*") else r"\s+"


def compile_phrase(phrase: str) -> re.Pattern[str]:
    """Compile one phrase; raises re.error for a bad pattern (the loader reports it)."""
    body = re.sub(r" +([?*+]?)", _whitespace, phrase.strip())
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def compile_cues(cues: Sequence[str]) -> re.Pattern[str] | None:
    if not cues:
        return None
    alternatives = "|".join(re.escape(cue.strip()) for cue in cues if cue.strip())
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class PhraseHit:
    start: int
    end: int
    matched_text: str


def _is_negated(text: str, start: int, cues: re.Pattern[str]) -> bool:
    sentence_start = 0
    for boundary in _SENTENCE_END.finditer(text, 0, start):
        sentence_start = boundary.end()
    before = text[sentence_start:start]
    words = _WORD.findall(before)[-NEGATION_WINDOW_WORDS:]
    return any(cues.fullmatch(word) for word in words)


def find_phrases(
    text: str, patterns: Sequence[re.Pattern[str]], cues: re.Pattern[str] | None
) -> list[PhraseHit]:
    """Every non-negated hit, in text order; a hit inside a longer hit is dropped."""
    hits: list[PhraseHit] = []
    for pattern in patterns:
        for found in pattern.finditer(text):
            if found.end() == found.start():
                continue  # an empty match says nothing
            if cues is not None and _is_negated(text, found.start(), cues):
                continue
            hits.append(PhraseHit(found.start(), found.end(), found.group(0)))
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[PhraseHit] = []
    for hit in hits:
        if any(k.start <= hit.start and hit.end <= k.end for k in kept):
            continue
        kept.append(hit)
    return kept
