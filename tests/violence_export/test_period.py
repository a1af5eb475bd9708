"""The reporting period: whole local days, at most a year, never backwards."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ed_alerts.violence_export.period import MAX_DAYS, InvalidPeriod, ReportingPeriod


def test_bounds_are_local_midnights_in_utc() -> None:
    summer = ReportingPeriod.checked(date(2026, 6, 1), date(2026, 6, 30))
    assert summer.bounds(ZoneInfo("Europe/London")) == (datetime(2026, 5, 31, 23, tzinfo=UTC),
                                                       datetime(2026, 6, 30, 23, tzinfo=UTC))
    one_day = ReportingPeriod.checked(date(2026, 1, 10), date(2026, 1, 10))
    assert one_day.bounds(ZoneInfo("Europe/London")) == (datetime(2026, 1, 10, tzinfo=UTC),
                                                        datetime(2026, 1, 11, tzinfo=UTC))


def test_a_year_is_allowed_and_more_is_not() -> None:
    ReportingPeriod.checked(date(2024, 1, 1), date(2024, 12, 31))  # 366 days, a leap year
    with pytest.raises(InvalidPeriod, match=f"at most {MAX_DAYS} days"):
        ReportingPeriod.checked(date(2024, 1, 1), date(2025, 1, 1))


@pytest.mark.parametrize(("start", "end"), [(date.min, date(2026, 1, 1)), (date(9999, 12, 31), date.max),
                                            (date(1899, 12, 31), date(1900, 1, 2))])
def test_dates_out_of_any_real_range_are_refused_not_a_crash(start: date, end: date) -> None:
    with pytest.raises(InvalidPeriod, match="must be between 1900-01-01 and 2999-12-31"):
        ReportingPeriod.checked(start, end)


def test_from_after_to_is_refused() -> None:
    with pytest.raises(InvalidPeriod, match=re.escape("'from' (2026-02-01) is after 'to' (2026-01-31)")):
        ReportingPeriod.checked(date(2026, 2, 1), date(2026, 1, 31))
