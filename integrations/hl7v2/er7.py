"""Tokenise normalised ER7 text: delimiters from MSH-2, segments, fields, repetitions, components.

This is the cheap path that replaces hl7apy's full message parse: str.split over the few segments
we map, with HL7 nulls ("") read as empty and escape sequences decoded only at the leaves we read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from integrations.hl7v2.escapes import unescape

HL7_NULL = '""'
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


class DelimiterError(ValueError):
    """MSH-1/MSH-2 do not define a usable set of delimiters."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str | None = "~"
    escape: str | None = "\\"
    subcomponent: str | None = "&"

    @classmethod
    def from_msh(cls, msh_line: str) -> Delimiters:
        """Read MSH-1 and MSH-2. Three encoding characters are accepted (some feeds omit one)."""
        if len(msh_line) < 4 or not msh_line.startswith("MSH"):
            raise DelimiterError("MSH segment is too short to hold its delimiters")
        field = msh_line[3]
        if field.isalnum() or field.isspace():
            raise DelimiterError("MSH-1 field separator is not a usable character")
        chars = msh_line[4:].split(field, 1)[0]
        if len(chars) == 5:
            chars = chars[:4]  # v2.7+ truncation character: not needed to read the message
        if len(set(chars)) != len(chars) or field in chars or any(c.isalnum() or c.isspace() for c in chars):
            raise DelimiterError("MSH-2 encoding characters are repeated or not usable")
        if len(chars) == 4:
            return cls(field, chars[0], chars[1], chars[2], chars[3])
        if len(chars) == 3:
            # A sender that writes three characters (usually ^\& with no repetition separator)
            # has a broken header, not a different body: reading ~ as data would glue PID-3's
            # repetitions together and hide an NHS number, so the missing one is the standard one.
            if chars[1] == "~":
                missing = "&" if "&" not in chars else None
                return cls(field, chars[0], chars[1], chars[2], missing)
            missing = "~" if "~" not in chars else None
            return cls(field, chars[0], missing, chars[1], chars[2])
        raise DelimiterError(f"MSH-2 has {len(chars)} encoding characters; 4 are expected")


STANDARD_DELIMITERS = Delimiters()


def is_segment_id(text: str) -> bool:
    return len(text) == 3 and _SEGMENT_ID.fullmatch(text) is not None


def split_lines(text: str) -> list[str]:
    """Split on CR, LF or CRLF and drop blank lines: hl7apy would see only MSH if LFs reached it."""
    normalised = text.replace("\r\n", "\r").replace("\n", "\r")
    return [line for line in normalised.split("\r") if line.strip()]


class Segment:
    """One segment. `fields[n]` is HL7 field n (for MSH too: fields[1] is the field separator)."""

    __slots__ = ("id", "fields", "delims", "codec")

    def __init__(self, text: str, delims: Delimiters, codec: str) -> None:
        parts = text.split(delims.field)
        if parts[0] == "MSH":
            parts.insert(1, delims.field)
        self.id = parts[0]
        self.fields = parts
        self.delims = delims
        self.codec = codec

    def raw(self, n: int) -> str:
        """Field n as sent (escaped, possibly with repetitions and components)."""
        return self.fields[n] if n < len(self.fields) else ""

    def repetitions(self, n: int) -> list[str]:
        """Field n's repetitions, without empty or wholly-null ones."""
        raw = self.raw(n)
        if not raw:
            return []
        reps = raw.split(self.delims.repetition) if self.delims.repetition else [raw]
        return [rep for rep in reps if rep and rep != HL7_NULL]

    def components(self, raw: str) -> list[str]:
        return raw.split(self.delims.component)

    def subcomponents(self, raw: str) -> list[str]:
        return raw.split(self.delims.subcomponent) if self.delims.subcomponent else [raw]

    def decode(self, raw: str) -> str:
        """A leaf value as text: null is empty, escapes decoded, surrounding spaces removed."""
        if not raw or raw == HL7_NULL:
            return ""
        return unescape(raw, self.delims, self.codec).strip()

    def part(self, raw: str, component: int, subcomponent: int | None = 1) -> str:
        """Component (and subcomponent) of one repetition, decoded; 1-based like HL7."""
        comps = raw.split(self.delims.component)
        if component > len(comps):
            return ""
        value = comps[component - 1]
        if subcomponent is not None and self.delims.subcomponent:
            subs = value.split(self.delims.subcomponent)
            value = subs[subcomponent - 1] if subcomponent <= len(subs) else ""
        return self.decode(value)

    def get(self, n: int, component: int = 1, subcomponent: int | None = 1) -> str:
        """Decoded value of field n's first repetition at the given component."""
        reps = self.repetitions(n)
        return self.part(reps[0], component, subcomponent) if reps else ""

    def text(self, n: int) -> str:
        """Field n as free text: every repetition, delimiters inside taken literally, one line each.

        Free-text senders often forget to escape ^ or &; splitting on them would drop words.
        """
        return "\n".join(t for t in (self.decode(rep) for rep in self.repetitions(n)) if t)
