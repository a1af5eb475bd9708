"""Durations as rule authors write them ("4h", "28d", "365d") and as people read them back."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "m": ("minute", timedelta(minutes=1)),
    "h": ("hour", timedelta(hours=1)),
    "d": ("day", timedelta(days=1)),
    "w": ("week", timedelta(weeks=1)),
}
_PATTERN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


def parse_duration(value: object) -> timedelta:
    """Parse "<whole number><unit>" with unit m, h, d or w.

    Deliberately tiny: a clinical safety officer must be able to read every duration at a glance,
    so no fractions, no compound forms and no bare numbers (is `4` hours or days?).
    """
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError("a duration must be longer than zero")
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(
            f"bad duration {value!r}: write a whole number and a unit m, h, d or w, e.g. 4h or 365d"
        )
    match = _PATTERN.match(str(value))
    if match is None:
        raise ValueError(
            f"bad duration {value!r}: write a whole number and a unit m, h, d or w, e.g. 4h or 365d"
        )
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0:
        raise ValueError(f"bad duration {value!r}: a duration must be longer than zero")
    return amount * _UNITS[unit][1]


def format_duration(value: timedelta) -> str:
    """Render in the largest of days, hours, minutes that divides evenly: "365 days", "4 hours".

    Weeks are shown as days because the pack's windows are reasoned about in days (28, 365).
    """
    for unit in ("d", "h", "m"):
        name, size = _UNITS[unit]
        if value % size == timedelta(0):
            count = value // size
            return f"{count} {name}{'' if count == 1 else 's'}"
    return str(value)


def compact_duration(value: timedelta) -> str:
    """The authoring form again ("4h", "24h", "365d"), for summaries that mirror the YAML."""
    day, hour, minute = (_UNITS[u][1] for u in ("d", "h", "m"))
    if value >= 2 * day and value % day == timedelta(0):
        return f"{value // day}d"
    if value % hour == timedelta(0):
        return f"{value // hour}h"
    if value % minute == timedelta(0):
        return f"{value // minute}m"
    return str(value)
