"""HL7 TS/DTM and DT values -> timezone-aware UTC datetimes and dates.

The grammar (YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]) is hl7apy's: its utilities are cheap and
are the part of hl7apy that pays its way here. A time without an offset is UK local time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hl7apy.utils import get_datetime_info

LOCAL_TIME = ZoneInfo("Europe/London")


def parse_ts(value: str) -> datetime | None:
    """An HL7 timestamp as an aware UTC datetime; None when empty. ValueError when malformed."""
    value = value.strip()
    if not value:
        return None
    moment, _fmt, offset, _precision = get_datetime_info(value)
    if offset:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    else:
        tz = LOCAL_TIME  # zoneinfo picks the first of an ambiguous autumn hour, which is fine here
    return moment.replace(tzinfo=tz).astimezone(UTC)


def parse_date(value: str) -> date | None:
    """The calendar date written in an HL7 DT or TS (a birth date is not moved across time zones)."""
    value = value.strip()
    if not value:
        return None
    moment, _fmt, _offset, _precision = get_datetime_info(value)
    return moment.date()
