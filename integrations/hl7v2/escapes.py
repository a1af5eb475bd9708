"""Decode HL7 v2 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\ ...) in one leaf value.

hl7apy only escapes on output (it has no decoder) and python-hl7's decoder logs the field value on
errors, which could put patient data in logs, so this small decoder is ours. Unknown or malformed
sequences are kept literally: dropping text we do not understand would lose content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.hl7v2.er7 import Delimiters

# Formatted-text commands (HL7 v2 section 2.7.6). A line break is what a reader of a note needs.
_FORMATTING = {".br": "\n", ".sp": "\n", ".ce": "\n", ".fi": "", ".nf": "", ".in": "", ".ti": ""}


def unescape(value: str, delims: Delimiters, codec: str = "utf-8") -> str:
    """Return `value` with its escape sequences replaced by the characters they stand for."""
    esc = delims.escape
    if not esc or esc not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        start = value.find(esc, i)
        if start == -1:
            out.append(value[i:])
            break
        out.append(value[i:start])
        end = value.find(esc, start + 1)
        if end == -1:  # a lone escape character: a sender that forgot to escape a backslash
            out.append(value[start:])
            break
        sequence = value[start + 1:end]
        expanded = _expand(sequence, delims, codec)
        out.append(value[start:end + 1] if expanded is None else expanded)
        i = end + 1
    return "".join(out)


def _expand(sequence: str, delims: Delimiters, codec: str) -> str | None:
    """The text one sequence stands for, or None when it is not a sequence we recognise."""
    if sequence == "F":
        return delims.field
    if sequence == "S":
        return delims.component
    if sequence == "T":
        return delims.subcomponent or "&"
    if sequence == "R":
        return delims.repetition or "~"
    if sequence == "E":
        return delims.escape
    if sequence in ("H", "N"):  # highlight on/off: presentation only
        return ""
    if not sequence:
        return None
    head = sequence[0]
    if head == "X":
        return _hex(sequence[1:], codec)
    if head == ".":
        return _formatting(sequence)
    if head in ("C", "M", "Z") and sequence[1:].isalnum():
        # Character-set switches and site-defined sequences carry no text of their own.
        return ""
    return None


def _hex(digits: str, codec: str) -> str | None:
    if not digits or len(digits) % 2:
        return None
    try:
        data = bytes.fromhex(digits)
    except ValueError:
        return None
    return data.decode(codec, errors="replace")


def _formatting(sequence: str) -> str | None:
    command, count = sequence[:3], sequence[3:]
    if command == ".sk":  # skip n spaces
        return " " * int(count) if count.isdigit() else " "
    if command not in _FORMATTING:
        return None
    if count and not count.lstrip("+-").isdigit():
        return None
    if command == ".sp" and count.isdigit():
        return "\n" * max(int(count), 1)
    return _FORMATTING[command]
