"""What the engine is given about one attendance: the child, the visit, and the callbacks it may ask.

The engine has no database, no clock and no NLP of its own. The caller supplies the arrival
time, the site's area, a way to count the child's earlier attendances and, optionally, the
clinical text detector (built in `ed_alerts/evaluation/text/`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from ed_alerts.domain import Attendance, Patient, SourceType


@runtime_checkable
class TextFindingLike(Protocol):
    """One concept the detector found in a text. Only findings with `excluded_reason` None count."""

    @property
    def concept(self) -> str: ...

    @property
    def matched_text(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    @property
    def uncertain(self) -> bool: ...

    @property
    def excluded_reason(self) -> str | None: ...  # e.g. "negated", "other person", "historical"


@runtime_checkable
class TextDetector(Protocol):
    def detect(self, text: str) -> Sequence[TextFindingLike]: ...


PriorAttendanceCounter = Callable[[timedelta], int]


@dataclass(frozen=True, kw_only=True)
class EvaluationContext:
    """Everything one evaluation may look at.

    `count_prior_attendances(window)` answers: how many earlier attendances has this child had,
    across all sites and sources, arriving within `window` before `arrival` (this one excluded).
    """

    patient: Patient
    attendance: Attendance
    arrival: datetime
    count_prior_attendances: PriorAttendanceCounter
    source_type: SourceType | None = None
    site_area: Sequence[str] = field(default_factory=tuple)  # postcode districts, e.g. ("CB1", "CB2")
    text_detector: TextDetector | None = None
