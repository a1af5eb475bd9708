"""One evaluation in progress: the pack, the context, and answers worth asking only once.

Several rules look at the same notes and the same history window; the detector and the
prior-attendance callback may be slow (NLP, a database), so their answers are kept per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from ed_alerts.evaluation.context import EvaluationContext, TextFindingLike
from ed_alerts.evaluation.loader import RulePack

REASON_SOURCE = "reason"


@dataclass(frozen=True)
class TextSource:
    """A piece of free text the rules read, and where it came from."""

    source: str  # "reason" or the note's FreeText.source, e.g. "NTE"
    index: int | None  # position in attendance.notes; None for the reason
    text: str


@dataclass
class Run:
    pack: RulePack
    ctx: EvaluationContext
    _findings: dict[int, Sequence[TextFindingLike]] = field(default_factory=dict)
    _prior_counts: dict[timedelta, int] = field(default_factory=dict)
    _texts: tuple[TextSource, ...] | None = None

    def text_sources(self) -> tuple[TextSource, ...]:
        """The reason, then every note in order. A note repeating the reason word for word is read once."""
        if self._texts is None:
            attendance = self.ctx.attendance
            texts: list[TextSource] = []
            reason = attendance.reason or ""
            if reason.strip():
                texts.append(TextSource(REASON_SOURCE, None, reason))
            for index, note in enumerate(attendance.notes):
                if note.text.strip() and note.text != reason:
                    texts.append(TextSource(note.source or "note", index, note.text))
            self._texts = tuple(texts)
        return self._texts

    def findings(self, position: int) -> Sequence[TextFindingLike]:
        """The detector's findings for text_sources()[position]; empty without a detector."""
        detector = self.ctx.text_detector
        if detector is None:
            return ()
        if position not in self._findings:
            self._findings[position] = tuple(detector.detect(self.text_sources()[position].text))
        return self._findings[position]

    def prior_attendances(self, window: timedelta) -> int:
        if window not in self._prior_counts:
            self._prior_counts[window] = int(self.ctx.count_prior_attendances(window))
        return self._prior_counts[window]
