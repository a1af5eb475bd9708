"""A child's age in whole years on the arrival date, the way rules and safeguarding law count it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

# Birthdays turn over at local midnight: 23:30 UTC on 31 May is already 1 June in a summer ED.
LOCAL_TIME = ZoneInfo("Europe/London")


def arrival_date(arrival: datetime) -> date:
    """The calendar date of an arrival in England; a naive time is taken as already local."""
    if arrival.tzinfo is None:
        return arrival.date()
    return arrival.astimezone(LOCAL_TIME).date()


def age_in_years(birth_date: date | None, on: date) -> int | None:
    """Completed years on `on`; None when the birth date is unknown or after `on` (bad data)."""
    if birth_date is None or birth_date > on:
        return None
    years = on.year - birth_date.year
    # Not yet had this year's birthday (a 29 February birthday falls on 1 March in other years).
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years
