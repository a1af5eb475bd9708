"""The reporting period of a violence export: whole local days, checked before anything is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ed_alerts.errors import DomainError

# ISB 1594 is reported at least monthly; a year covers an annual review. Longer asks are refused so
# that one request cannot pull the whole history out of the service.
MAX_DAYS = 366
# Dates a period may use: wide enough for any real export, narrow enough that midnight after the last
# day, in any time zone, is still a datetime (date.max + 1 day is not).
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


class InvalidPeriod(DomainError):
    """A reporting period that cannot be exported as asked (the reason says why)."""

    status_code = 422


@dataclass(frozen=True)
class ReportingPeriod:
    """From `start` to `end`, both inclusive, as calendar dates in the display time zone."""

    start: date
    end: date

    @classmethod
    def checked(cls, start: date, end: date, *, max_days: int = MAX_DAYS) -> ReportingPeriod:
        for name, day in (("from", start), ("to", end)):
            if not EARLIEST <= day <= LATEST:
                raise InvalidPeriod(f"'{name}' ({day.isoformat()}) must be between {EARLIEST.isoformat()} "
                                    f"and {LATEST.isoformat()}")
        if start > end:
            raise InvalidPeriod(f"'from' ({start.isoformat()}) is after 'to' ({end.isoformat()})")
        days = (end - start).days + 1
        if days > max_days:
            raise InvalidPeriod(f"the period from {start.isoformat()} to {end.isoformat()} is {days} days; "
                                f"export at most {max_days} days at a time")
        return cls(start, end)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight starting `start` to local midnight after `end`."""
        first = datetime.combine(self.start, time(0), tzinfo=zone)
        after = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=zone)
        return first.astimezone(UTC), after.astimezone(UTC)
