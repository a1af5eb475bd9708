"""MLLP framing: wrap payloads in start/end blocks, decode a byte stream into frames, split bulk files.

Nothing here knows HL7 beyond what it takes to find message boundaries in a file.
"""

from __future__ import annotations

import re
from enum import Enum, auto

START_BLOCK = b"\x0b"  # VT
END_BLOCK = b"\x1c\x0d"  # FS CR
_SB = 0x0B
_FS = 0x1C
_WHITESPACE = frozenset(b" \t\r\n")

DEFAULT_MAX_MESSAGE_BYTES = 1_048_576


class FrameTooLarge(ValueError):
    """A frame grew past the decoder's limit.

    `size` is the payload bytes seen so far: the exact size when the frame had already ended in the
    data given, otherwise a lower bound. `frames` holds the frames completed before the oversize one
    in the same `feed()` call, so the caller can still answer them, in order, before this one.
    """

    def __init__(self, size: int, limit: int, frames: list[bytes] | None = None) -> None:
        super().__init__(f"MLLP frame of at least {size} bytes exceeds the {limit} byte limit")
        self.size = size
        self.limit = limit
        self.frames = frames or []


def frame(payload: bytes) -> bytes:
    """Wrap one payload for the wire."""
    return START_BLOCK + payload + END_BLOCK


class _State(Enum):
    BETWEEN = auto()  # outside a frame, skipping anything until a start block
    IN_FRAME = auto()
    DISCARDING = auto()  # inside an oversize frame: dropped to its end, so memory stays bounded


class FrameDecoder:
    """Incremental MLLP decoder: feed it bytes as they arrive, get whole payloads back.

    Tolerant where that loses nothing: bytes between frames (stray CR/LF, junk) are skipped, and a
    frame ends at FS whether or not the CR follows (FS never occurs in HL7 content; the CR, if any,
    is then skipped as inter-frame junk). A start block inside an open frame means the sender gave up
    on that frame, so the partial frame is dropped and a new one begins.

    When a frame passes `max_message_bytes`, `feed()` raises `FrameTooLarge` and the decoder skips
    the rest of that frame, so it resynchronises at the next frame. Any bytes of that `feed()` call
    past the point of the error are kept: call `feed(b"")` (or feed more data) to decode them.
    """

    def __init__(self, max_message_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self.junk_bytes = 0  # non-whitespace bytes skipped outside frames, and dropped partial frames
        self._state = _State.BETWEEN
        self._buf = bytearray()
        self._unread = b""  # what followed an oversize error, decoded on the next feed()

    @property
    def in_frame(self) -> bool:
        """True while a frame has started but not ended (including an oversize one being skipped)."""
        return self._state is not _State.BETWEEN

    @property
    def buffered(self) -> int:
        """Payload bytes held for the frame in progress."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        if self._unread:
            data, self._unread = self._unread + data, b""
        frames: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            if self._state is _State.BETWEEN:
                start = data.find(START_BLOCK, pos)
                self._count_junk(data[pos : end if start < 0 else start])
                if start < 0:
                    break
                self._state, pos = _State.IN_FRAME, start + 1
                continue

            stop = _find_either(data, pos)
            chunk_end = end if stop < 0 else stop
            if self._state is _State.IN_FRAME:
                size = len(self._buf) + chunk_end - pos
                if self.max_message_bytes is not None and size > self.max_message_bytes:
                    self._buf.clear()
                    self._state = _State.DISCARDING
                    self._unread = data[chunk_end:]
                    raise FrameTooLarge(size, self.max_message_bytes, frames)
                self._buf += data[pos:chunk_end]
            if stop < 0:
                break
            if data[stop] == _FS:
                if self._state is _State.IN_FRAME:
                    frames.append(bytes(self._buf))
                self._buf.clear()
                self._state = _State.BETWEEN
            else:  # a new start block: abandon the open frame
                self.junk_bytes += len(self._buf)
                self._buf.clear()
                self._state = _State.IN_FRAME
            pos = stop + 1
        return frames

    def flush(self) -> bytes | None:
        """Return and clear an unterminated frame, e.g. at the end of a file; None if there is none."""
        self._unread = b""
        if self._state is not _State.IN_FRAME:
            self._state = _State.BETWEEN
            return None
        payload = bytes(self._buf)
        self._buf.clear()
        self._state = _State.BETWEEN
        return payload

    def _count_junk(self, skipped: bytes) -> None:
        if skipped:
            self.junk_bytes += sum(1 for b in skipped if b not in _WHITESPACE)


def _find_either(data: bytes, pos: int) -> int:
    """Index of the next FS or start block at or after pos, or -1."""
    fs = data.find(b"\x1c", pos)
    sb = data.find(START_BLOCK, pos, fs if fs >= 0 else len(data))
    return sb if sb >= 0 else fs


# --- bulk files -------------------------------------------------------------------------------

_ENVELOPE_SEGMENT = re.compile(rb"(?:FHS|BHS|BTS|FTS)(?:[^A-Za-z0-9\s]|$)")
# A real MSH header: "MSH", a punctuation field separator, 3-5 encoding characters, the separator
# again. Free text that happens to start with "MSH" (an OBX value on a wrapped line) doesn't match.
_MSH_HEADER = re.compile(rb"MSH([^A-Za-z0-9\s])[^\r\n]{3,5}?\1")  # 5 with v2.7's truncation character
_UTF8_BOM = b"\xef\xbb\xbf"


def split_file(data: bytes) -> list[bytes]:
    """Split a bulk file into HL7 messages.

    An MLLP-framed file gives back each frame's payload as is (an unterminated last frame too).
    Otherwise messages are found by segment. Segment terminators may be CR, LF or CRLF and come back
    as CR, as an MLLP payload would carry them; in a file that uses CR anywhere a lone LF is data inside
    a segment (some feeds put raw line breaks in OBX text). A message starts only at a segment that is
    a well-formed MSH header, so "MSH" in an OBX value never splits one. Blank lines and batch envelope
    segments (FHS, BHS, BTS, FTS) are dropped. Segments before the first MSH come back as a message of
    their own, so the caller rejects them visibly rather than losing them. A framed payload that is
    itself a batch (starts FHS or BHS) is split the same way.
    """
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    # Only a file that opens with a start block is framed; a stray 0x0B after a plain message (seen in
    # real samples) must not turn the message before it into "junk between frames".
    if data.lstrip(b" \t\r\n").startswith(START_BLOCK):
        decoder = FrameDecoder(max_message_bytes=None)
        payloads = decoder.feed(data)
        tail = decoder.flush()
        if tail is not None and tail.strip():
            payloads.append(tail)  # a file cut short or missing its last end block: don't lose it
        messages: list[bytes] = []
        for payload in payloads:
            if payload.lstrip().startswith((b"FHS", b"BHS")):
                messages.extend(_split_segments(payload))
            elif payload.strip():
                messages.append(payload)
        return messages
    return _split_segments(data.replace(START_BLOCK, b"").replace(b"\x1c", b""))


def _split_segments(data: bytes) -> list[bytes]:
    # Any run of line breaks is one terminator, so blank lines and CR CR LF endings fall away. With
    # CR in the file the run must hold a CR, so a lone LF inside a segment stays data.
    separator = rb"[\r\n]*\r[\r\n]*" if b"\r" in data else rb"\n+"
    messages: list[list[bytes]] = []
    for segment in re.split(separator, data):
        if not segment.strip() or _ENVELOPE_SEGMENT.match(segment):
            continue
        # Only a well-formed MSH at the start of a segment opens a message. A blank line alone does
        # not: a non-MSH segment after one is kept with the message it follows, because a message
        # can't start without MSH and stray blank lines inside messages do occur.
        if not messages or _MSH_HEADER.match(segment):
            messages.append([])
        messages[-1].append(segment)
    return [b"".join(seg + b"\r" for seg in message) for message in messages]
