"""MLLP framing: the incremental decoder and the bulk file splitter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.mllp import END_BLOCK, START_BLOCK, FrameDecoder, FrameTooLarge, frame, split_file

ADT_1 = b"MSH|^~\\&|EDIS|RX1|EDALERTS|HUB|20240501120000||ADT^A04|CTRL1|P|2.4\rPID|1||123^^^RX1||DOE^JANE\r"
ADT_2 = b"MSH|^~\\&|EDIS|RX1|EDALERTS|HUB|20240501120100||ADT^A08|CTRL2|P|2.4\rPID|1||456^^^RX1||ROE^RICH\r"
ADT_3 = b"MSH|^~\\&|EDIS|RX1|EDALERTS|HUB|20240501120200||ADT^A03|CTRL3|P|2.4\rPV1|1|E\r"


def test_frame_wraps_payload() -> None:
    assert frame(b"abc") == b"\x0babc\x1c\x0d"
    assert START_BLOCK == b"\x0b" and END_BLOCK == b"\x1c\x0d"


def test_round_trip() -> None:
    assert FrameDecoder().feed(frame(ADT_1)) == [ADT_1]


def test_byte_by_byte() -> None:
    decoder = FrameDecoder()
    out: list[bytes] = []
    for i in range(len(wire := frame(ADT_1) + frame(ADT_2))):
        out += decoder.feed(wire[i : i + 1])
    assert out == [ADT_1, ADT_2]
    assert not decoder.in_frame


def test_several_frames_in_one_read() -> None:
    assert FrameDecoder().feed(frame(ADT_1) + frame(ADT_2) + frame(ADT_3)) == [ADT_1, ADT_2, ADT_3]


def test_end_block_split_across_reads() -> None:
    decoder = FrameDecoder()
    wire = frame(ADT_1)
    assert decoder.feed(wire[:-1]) == [ADT_1]  # FS alone ends the frame; the CR is skipped after
    assert decoder.feed(wire[-1:] + frame(ADT_2)) == [ADT_2]
    assert decoder.junk_bytes == 0


def test_junk_and_whitespace_between_frames() -> None:
    decoder = FrameDecoder()
    wire = b"\r\n" + frame(ADT_1) + b"\n\r\n  " + frame(ADT_2) + b"garbage" + frame(ADT_3) + b"\n"
    assert decoder.feed(wire) == [ADT_1, ADT_2, ADT_3]
    assert decoder.junk_bytes == len(b"garbage")  # whitespace is not counted as junk


def test_start_block_inside_open_frame_restarts_it() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x0bMSH|half a mess" + frame(ADT_1)) == [ADT_1]
    assert decoder.junk_bytes == len(b"MSH|half a mess")


def test_partial_frame_is_held() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x0b" + ADT_1[:10]) == []
    assert decoder.in_frame and decoder.buffered == 10
    assert decoder.feed(ADT_1[10:] + END_BLOCK) == [ADT_1]


def test_oversize_raises_with_size_and_resynchronises() -> None:
    decoder = FrameDecoder(max_message_bytes=100)
    big = b"X" * 250
    with pytest.raises(FrameTooLarge) as err:
        decoder.feed(frame(ADT_1[:50]) + frame(big) + frame(b"after"))
    assert err.value.size == 250 and err.value.limit == 100
    assert err.value.frames == [ADT_1[:50]]  # completed before the oversize one: still answerable
    assert decoder.feed(b"") == [b"after"]  # the rest of the read was kept


def test_oversize_detected_before_frame_ends() -> None:
    decoder = FrameDecoder(max_message_bytes=100)
    decoder.feed(b"\x0b" + b"X" * 60)
    with pytest.raises(FrameTooLarge) as err:
        decoder.feed(b"X" * 60)
    assert err.value.size == 120  # a lower bound: the frame hasn't ended
    assert decoder.buffered == 0  # the rest of the frame is dropped, not held
    assert decoder.feed(b"X" * 10_000) == []
    assert decoder.feed(END_BLOCK + frame(b"ok")) == [b"ok"]


def test_exactly_max_size_is_accepted() -> None:
    assert FrameDecoder(max_message_bytes=10).feed(frame(b"0123456789")) == [b"0123456789"]


def test_flush_returns_unterminated_frame() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x0bpartial")
    assert decoder.flush() == b"partial"
    assert decoder.flush() is None


@settings(max_examples=60, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_any_split_of_the_stream_decodes_the_same(payloads: list[bytes], cuts: list[int]) -> None:
    wire = b"".join(frame(p) for p in payloads)
    decoder = FrameDecoder()
    out: list[bytes] = []
    edges = sorted({0, len(wire), *(c for c in cuts if c < len(wire))})
    for a, b in zip(edges, edges[1:]):
        out += decoder.feed(wire[a:b])
    assert out == payloads


# --- split_file -------------------------------------------------------------------------------


def test_split_mllp_framed_file() -> None:
    data = frame(ADT_1) + b"\n" + frame(ADT_2) + b"\r\n" + frame(ADT_3) + b"\n"
    assert split_file(data) == [ADT_1, ADT_2, ADT_3]


def test_split_mllp_framed_file_keeps_unterminated_last_frame() -> None:
    assert split_file(frame(ADT_1) + b"\x0b" + ADT_2) == [ADT_1, ADT_2]


def test_split_blank_line_separated_cr() -> None:
    assert split_file(ADT_1 + b"\r" + ADT_2 + b"\r\r" + ADT_3) == [ADT_1, ADT_2, ADT_3]


def test_split_crlf_with_blank_lines() -> None:
    data = b"\r\n".join([ADT_1, ADT_2, ADT_3]).replace(b"\r", b"\r\n").replace(b"\r\n\n", b"\r\n")
    assert split_file(b"\r\n" + data + b"\r\n\r\n") == [ADT_1, ADT_2, ADT_3]


def test_split_lf_only() -> None:
    data = (ADT_1 + ADT_2 + b"\r" + ADT_3).replace(b"\r", b"\n")
    assert split_file(data) == [ADT_1, ADT_2, ADT_3]


def test_split_cr_only_back_to_back() -> None:
    assert split_file(ADT_1 + ADT_2 + ADT_3) == [ADT_1, ADT_2, ADT_3]


def test_split_strips_utf8_bom() -> None:
    assert split_file(b"\xef\xbb\xbf" + ADT_1 + ADT_2) == [ADT_1, ADT_2]


def test_split_batch_drops_envelope_and_ignores_msh_in_obx() -> None:
    obx_msg = (
        b"MSH|^~\\&|EDIS|RX1|EDALERTS|HUB|20240501120300||ORU^R01|CTRL4|P|2.4\r"
        b"OBX|1|TX|NOTE||MSH|^~\\&| text pasted in a note\r"  # "MSH" inside a value, mid-segment
        b"OBX|2|TX|NOTE||line one\nMSH seen on triage\r"  # a raw LF inside a CR file is data
    )
    batch = (
        b"FHS|^~\\&|EDIS|RX1\r"
        b"BHS|^~\\&|EDIS|RX1\r"
        + ADT_1
        + obx_msg
        + ADT_2
        + b"BTS|3\r"
        b"FTS|1\r"
    )
    assert split_file(batch) == [ADT_1, obx_msg, ADT_2]


def test_split_lf_file_with_msh_text_at_line_start_in_obx() -> None:
    # In an LF file a wrapped OBX line can begin "MSH": only a well-formed header opens a message.
    msg = ADT_1 + b"OBX|1|TX|NOTE||see below\rMSH was mentioned by the parent\r"
    assert split_file(msg.replace(b"\r", b"\n") + b"\n" + ADT_2.replace(b"\r", b"\n")) == [msg, ADT_2]


def test_split_framed_batch() -> None:
    batch = b"BHS|^~\\&|EDIS|RX1\r" + ADT_1 + ADT_2 + b"BTS|2\r"
    assert split_file(frame(batch)) == [ADT_1, ADT_2]


def test_split_keeps_leading_non_msh_segments_visible() -> None:
    assert split_file(b"PID|1||999\r" + ADT_1) == [b"PID|1||999\r", ADT_1]


def test_split_empty() -> None:
    assert split_file(b"") == []
    assert split_file(b"\r\n\r\n") == []
