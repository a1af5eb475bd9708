"""What an ASSAULT LOCATION DESCRIPTION may say: a place, and nothing else.

The data set wants "outside school gates" or "bus station", not who was there or what happened.
Telling a place from a narrative or a name cannot be done reliably by pattern, so this is an
allow-list: every word must be one of the place words of rules/istv/assault-location-type.yaml. Any
other word (a name, a street or venue name, a pronoun, a verb), any digit (house numbers, postcodes,
times) and any possessive makes the whole description go, never part of it: a description with a
word cut out can mislead ("outside [Jake's] house"). When in doubt, nothing is exported.
"""

from __future__ import annotations

import re

MAX_CHARS = 80
MAX_WORDS = 12
# Letters, spaces and the punctuation of a short phrase; an apostrophe (possessive, surname) or a
# digit anywhere rejects the text before its words are even read.
_ALLOWED_TEXT = re.compile(r"^[A-Za-z ,.\-/&]+$")
_SPLIT = re.compile(r"[ ,.\-/&]+")
# Words that are allowed but say nothing on their own ("at the" is not a place).
_FUNCTION_WORDS = frozenset({"a", "an", "the", "of", "and", "or", "at", "in", "on", "by", "near", "outside",
                             "inside", "behind", "opposite", "beside", "next", "to", "front", "back", "rear",
                             "side", "end", "top", "bottom"})


def place_description(text: str | None, words: frozenset[str]) -> str | None:
    """`text` as a lower-case run of place words, or None when it is not purely a place."""
    if not text:
        return None
    compact = " ".join(text.split())
    if not compact or len(compact) > MAX_CHARS or not _ALLOWED_TEXT.match(compact):
        return None
    tokens = [token for token in _SPLIT.split(compact.lower()) if token]
    if not tokens or len(tokens) > MAX_WORDS:
        return None
    if any(token not in words for token in tokens):
        return None
    if all(token in _FUNCTION_WORDS for token in tokens):
        return None
    return " ".join(tokens)
