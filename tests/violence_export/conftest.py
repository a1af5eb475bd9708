"""Fixtures for the violence export tests: the shipped code lists, and an attendance builder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from ed_alerts.domain import CodeSystem, Coding, Observation
from ed_alerts.evaluation import load_pack
from ed_alerts.violence_export.codes import IstvCodes
from ed_alerts.violence_export.selection import AssaultAttendance

ARRIVAL = datetime(2026, 1, 10, 19, 28, tzinfo=UTC)


@pytest.fixture(scope="session")
def codes() -> IstvCodes:
    return IstvCodes.load(load_pack())


def coding(code: str, system: CodeSystem | str = CodeSystem.LOCAL, display: str | None = None) -> Coding:
    return Coding(system=system, code=code, display=display)


def answer(question: str, *, code: Coding | None = None, text: str | None = None,
           number: float | None = None, value_type: str = "coded") -> Observation:
    """An observation as the adapters store it: a local question code and its answer."""
    return Observation(code=coding(question), value_type=value_type, value_code=code,
                       value_text=text if text is not None else (code.display if code else None),
                       value_number=number)


@pytest.fixture
def attendance() -> Callable[..., AssaultAttendance]:
    def make(*, diagnoses: list[Coding] | None = None, observations: list[Observation] | None = None,
             reason_code: Coding | None = None, birth_date: date | None = date(2011, 5, 4),
             sex: str | None = "male", weapon_flag: bool = False, arrival: datetime = ARRIVAL,
             site_code: str = "RGT01") -> AssaultAttendance:
        return AssaultAttendance(site_code=site_code, arrival_time=arrival, birth_date=birth_date, sex=sex,
                                 diagnoses=tuple(diagnoses or ()), reason_code=reason_code,
                                 observations=tuple(observations or ()), weapon_flag=weapon_flag)

    return make
