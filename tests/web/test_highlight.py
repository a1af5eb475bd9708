"""Marking evidence in the original text: offsets, overlaps, snippets, stale offsets."""

from __future__ import annotations

from ed_alerts.web.highlight import REASON, Segment, Span, locate, segments, snippet, text_of

NOTE = "Pt says he was jumped by 3 lads on the way home."


def _marked(pieces: list[Segment]) -> list[str]:
    return [p.text for p in pieces if p.marked]


def test_overlapping_matches_merge_into_one_mark_naming_every_rule() -> None:
    spans = [Span(11, 21, "Assault"), Span(15, 24, "Assault"), Span(15, 31, "Group violence")]
    pieces = segments(NOTE, spans)
    assert _marked(pieces) == ["was jumped by 3 lads"]
    assert [p.label for p in pieces if p.marked] == ["Assault; Group violence"]
    assert "".join(p.text for p in pieces) == NOTE


def test_offsets_are_checked_against_the_matched_text() -> None:
    assert locate(NOTE, {"start": 15, "end": 24, "matched_text": "jumped by"}) == (15, 24)
    # A later message changed the note: the words are found where they are now.
    assert locate("Note: " + NOTE, {"start": 15, "end": 24, "matched_text": "jumped by"}) == (21, 30)
    assert locate(NOTE, {"start": 15, "end": 24, "matched_text": "stabbed"}) is None
    assert locate(NOTE, {"start": 40, "end": 400}) is None


def test_a_snippet_keeps_words_whole_around_the_mark() -> None:
    long = "word " * 60 + "the child said they do not feel safe at home " + "word " * 60
    start = long.index("do not feel safe")
    pieces = snippet(long, Span(start, start + len("do not feel safe"), "Does not feel safe"), context=30)
    assert pieces[0].text == "…" and pieces[-1].text == "…"
    assert _marked(pieces) == ["do not feel safe"]
    assert not pieces[1].text.startswith("ord")


def test_text_of_the_reason_and_notes() -> None:
    notes = [{"source": "NTE", "text": NOTE}]
    assert text_of(REASON, "Assault", notes) == "Assault"
    assert text_of(0, "Assault", notes) == NOTE
    assert text_of(3, "Assault", notes) is None
