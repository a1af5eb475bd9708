"""split_batch: an FHS/BHS batch file -> the bytes of each message in it, split on segment starts.

A naive split on "MSH" breaks when a field contains those letters; only a line that starts a
segment counts.
"""

from __future__ import annotations

import re

_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_ENVELOPE = (b"FHS", b"BHS", b"BTS", b"FTS")


def split_batch(raw: bytes) -> list[bytes]:
    """Each message's bytes, line ends kept as sent; envelope segments (FHS/BHS/BTS/FTS) dropped.

    A single message comes back as a one-item list; bytes without any MSH give an empty list.
    """
    messages: list[bytearray] = []
    current: bytearray | None = None
    for line in _LINES.findall(bytes(raw)):
        head = line.lstrip(b"\x0b\x1c \t")[:3]
        if head == b"MSH":
            current = bytearray()
            messages.append(current)
        elif head in _ENVELOPE:
            current = None
            continue
        if current is not None:
            current += line
    return [bytes(m) for m in messages]
