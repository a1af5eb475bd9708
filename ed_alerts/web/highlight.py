"""Evidence in the original text: which characters of the reason or a note made a rule fire.

Text evidence carries `start`/`end` offsets into the text its `source` names (the reason when
`source_index` is None, otherwise `attendance.notes[source_index]`). The offsets are checked against
`matched_text`; if they no longer fit (the note was edited by a later message) the first occurrence
of the matched text is used instead, and if that is gone too the evidence is shown but not marked.
Overlapping matches ("was jumped", "jumped by 3 lads") are marked as one span naming every rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REASON = None  # the `source_index` of evidence found in the presenting complaint


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool = False
    label: str = ""  # the rules that matched here


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


def locate(text: str, evidence: dict[str, Any]) -> tuple[int, int] | None:
    matched = evidence.get("matched_text")
    start, end = evidence.get("start"), evidence.get("end")
    fits = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
    if fits and (not matched or text[start:end] == matched):
        return start, end  # type: ignore[return-value]
    if matched:
        found = text.find(matched)
        if found >= 0:
            return found, found + len(matched)
    return None


def text_of(source_index: int | None, reason: str | None, notes: list[dict[str, Any]]) -> str | None:
    if source_index is REASON:
        return reason
    if 0 <= source_index < len(notes):
        text = notes[source_index].get("text")
        return text if isinstance(text, str) else None
    return None


def segments(text: str, spans: list[Span]) -> list[Segment]:
    """`text` cut into plain and marked pieces; overlapping spans merge, their labels joined."""
    merged: list[tuple[int, int, list[str]]] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1][1]:
            start, end, labels = merged[-1]
            merged[-1] = (start, max(end, span.end), labels if span.label in labels else [*labels, span.label])
        else:
            merged.append((span.start, span.end, [span.label]))
    out: list[Segment] = []
    position = 0
    for start, end, labels in merged:
        if start > position:
            out.append(Segment(text[position:start]))
        out.append(Segment(text[start:end], marked=True, label="; ".join(labels)))
        position = end
    if position < len(text):
        out.append(Segment(text[position:]))
    return out


def snippet(text: str, span: Span, context: int = 90) -> list[Segment]:
    """The span with up to `context` characters either side, cut at word boundaries."""
    left = max(0, span.start - context)
    if left > 0:
        space = text.find(" ", left)
        left = space + 1 if 0 <= space < span.start else left
    right = min(len(text), span.end + context)
    if right < len(text):
        space = text.rfind(" ", span.end, right)
        right = space if space > span.end else right
    pieces = segments(text[left:right], [Span(span.start - left, span.end - left, span.label)])
    if left > 0:
        pieces.insert(0, Segment("…"))
    if right < len(text):
        pieces.append(Segment("…"))
    return pieces
