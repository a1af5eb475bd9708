"""FHIR date search values (`ge2026-01-05`, `2026-01`, `2026-01-05T10:00:00Z`) as half-open UTC ranges.

A search value stands for the whole interval its precision names: `2026-01` is all of January. Values
without a time zone are read as UTC (the spec leaves this to the server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

SUPPORTED_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
UNSUPPORTED_PREFIXES = ("sa", "eb", "ap")

_VALUE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


class DateValueError(ValueError):
    pass


@dataclass(frozen=True)
class DateRange:
    """[start, end): the interval a search value names."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class DateCriterion:
    prefix: str
    range: DateRange


def _add_months(value: datetime, months: int) -> datetime:
    year, month = divmod(value.month - 1 + months, 12)
    return value.replace(year=value.year + year, month=month + 1)


def _tz(text: str | None) -> timezone:
    if text is None or text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59:
        raise DateValueError(f"time zone {text!r} is out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_range(text: str) -> DateRange:
    match = _VALUE.fullmatch(text)
    if match is None:
        raise DateValueError(f"{text[:40]!r} is not a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD "
                             "or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm])")
    g = match.groupdict()
    if g["hour"] is None and g["tz"] is not None:
        raise DateValueError(f"{text[:40]!r}: a time zone needs a time")
    try:
        start = datetime(int(g["year"]), int(g["month"] or 1), int(g["day"] or 1),
                         int(g["hour"] or 0), int(g["minute"] or 0), int(g["second"] or 0),
                         int((g["fraction"] or "0")[:6].ljust(6, "0")), tzinfo=_tz(g["tz"]))
    except ValueError as exc:
        raise DateValueError(f"{text[:40]!r} is not a real date or time ({exc})") from None
    if g["month"] is None:
        end = start.replace(year=start.year + 1)
    elif g["day"] is None:
        end = _add_months(start, 1)
    elif g["hour"] is None:
        end = start + timedelta(days=1)
    elif g["second"] is None:
        end = start + timedelta(minutes=1)
    elif g["fraction"] is None:
        end = start + timedelta(seconds=1)
    else:
        # Stored times have microseconds: finer digits than that cannot narrow the range further.
        end = start + timedelta(microseconds=10 ** max(0, 6 - len(g["fraction"])))
    return DateRange(start.astimezone(UTC), end.astimezone(UTC))


def parse_criterion(text: str) -> DateCriterion:
    prefix = text[:2]
    if prefix in UNSUPPORTED_PREFIXES:
        raise DateValueError(f"date prefix {prefix!r} is not supported (supported: "
                             f"{', '.join(SUPPORTED_PREFIXES)})")
    if prefix in SUPPORTED_PREFIXES:
        return DateCriterion(prefix, parse_range(text[2:]))
    return DateCriterion("eq", parse_range(text))
