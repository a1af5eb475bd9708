"""The ICB dashboard's aggregation (no HTTP), and its pages and export: the numbers, suppression,
and never an identifier."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.dashboard.metrics import Period, add_months, compute, parse_month
from ed_alerts.dashboard.tables import publish
from ed_alerts.db.base import utcnow
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.referrals.outbox import drain_outbox
from ed_alerts.referrals.schemas import DecisionInput
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from tests.referrals.factory import complete, pending_decisions, refer_all, send
from tests.web.conftest import sign_in
from tests.web.helpers import arrive

DISTINCTIVE = ["Zebediah", "Quixotefield", "Wolverhamptonshire"]


def _seed(services: Services, n: int, *, site: str = "RGT01", seed: int = 51, sent: int = 0,
          families: list[str] | None = None) -> list[int]:
    gen = Generator(seed=seed)
    referral_ids = []
    for i in range(n):
        family = (families or [None])[i % len(families or [None])]
        attendance_id = arrive(services, gen, site=site, kind="group_assault", family=family,
                               given="Zebediah" if family else None)
        referral_id = refer_all(services, attendance_id)
        if i < sent:
            complete(services, referral_id)
            send(services, referral_id)
        referral_ids.append(referral_id)
    return referral_ids


def _metrics(services: Services):  # type: ignore[no-untyped-def]
    now = utcnow()
    period = Period.last_months(2, now.date())
    with services.db.session() as s:
        return compute(s, services.settings, period, now)


def test_periods_and_months() -> None:
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert Period.last_months(3, date(2026, 2, 17)).months() == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert parse_month("2026-03") == date(2026, 3, 1) and parse_month("March") is None and parse_month("") is None
    with pytest.raises(ValueError):
        Period(date(2026, 3, 1), date(2026, 1, 1))


def test_counts_timeliness_and_steps(services: Services) -> None:
    _seed(services, 6, sent=5)
    drain_outbox(services, utcnow())
    m = _metrics(services)
    t = m.total
    assert t.flags == 12  # assault and group violence on each
    assert t.decisions == 12 and t.decided == 12 and t.words_recorded == 12
    assert t.referrals == 6 and t.sent == 5 and t.sent_on_time == 5 and t.referrals_due == 5
    assert t.delivered == 5 and t.audited == 0
    assert len(t.hours["decision_to_sent"]) == 5 and len(t.hours["sent_to_delivered"]) == 5
    assert m.flags_by_rule == {"assault": 6, "group_violence": 6}
    assert set(m.by_site) == {"RGT01"} and set(m.by_source) == {"hospital_ed"}
    assert sum(x.flags for x in m.by_month.values()) == 12


def test_late_and_overdue_are_counted(services: Services) -> None:
    (_referral_id,) = _seed(services, 1, seed=52)
    later = utcnow() + timedelta(days=2)  # past the 24 hours a referral has
    with services.db.session() as s:
        m = compute(s, services.settings, Period.last_months(1, later.date()), later)
    assert m.total.referrals_due == 1 and m.total.sent_on_time == 0
    assert m.overdue_by_site["RGT01"].referrals == 1


def test_small_numbers_are_suppressed_in_the_published_tables(services: Services) -> None:
    _seed(services, 3, sent=3, seed=53)
    _seed(services, 7, site="RGT02", seed=54)
    published = publish(_metrics(services), services.sites, 5, {"assault": "Assault"})
    rows = {r.key: r for r in published.by_site.rows}
    assert rows["RGT01"].cells["referrals"].text == "<5"
    assert rows["RGT02"].cells["referrals"].text == "<5"  # its complement: else 3 = 10 - 7
    assert published.by_site.total.cells["referrals"].text == "10"
    assert published.headline["referrals"].text == "10"
    bigger = publish(_metrics(services), services.sites, 3, {})
    assert {r.key: r.cells["referrals"].text for r in bigger.by_site.rows} == {"RGT01": "3", "RGT02": "7"}


def test_no_identifier_reaches_the_dashboard_or_its_export(client: TestClient, services: Services,
                                                          make_user) -> None:
    _seed(services, 6, sent=6, seed=55, families=["Quixotefield"])
    with services.db.session() as s:  # free text of every kind the service stores
        from ed_alerts.referrals import decisions as decision_service
        from tests.referrals.factory import NURSE

        attendance_id = arrive(services, Generator(seed=56), family="Quixotefield", postcode="WV1 1AA")
        for decision_id in pending_decisions(services, attendance_id):
            decision_service.record_decision(s, services.referrals, decision_id, NURSE, DecisionInput(
                outcome="not_refer", rationale="Wolverhamptonshire rationale", child_words="Wolverhamptonshire"))
    drain_outbox(services, utcnow())
    with services.db.session() as s:
        numbers = list(s.scalars(select(PatientIdentifier.value)))
        births = [b for b in s.scalars(select(Patient.birth_date)) if b is not None]
    assert numbers and births
    dates = [f(b) for b in births for f in (date.isoformat, lambda d: d.strftime("%d %b %Y"),
                                             lambda d: f"{d.day} {d:%b %Y}", lambda d: d.strftime("%Y%m%d"))]
    sign_in(client, make_user("icb_lead"))
    html = client.get("/dashboard").text
    export = client.get("/dashboard.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    for text in (html, export.text):
        for secret in [*DISTINCTIVE, "QUIXOTEFIELD", "WV1", "1 Example Street", "punched", "jumped",
                       "They said", *numbers, *dates]:
            assert secret not in text, f"{secret!r} leaked"
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {"table", "group", "measure", "value", "suppressed"} <= set(rows[0])
    flags_total = next(r for r in rows if r["table"] == "flags-by-rule" and r["group_key"] == "total")
    assert flags_total["value"] == "15"  # 6 x (assault, group violence) + the far-from-home child's 3


def test_the_dashboard_page_charts_and_threshold(client: TestClient, services: Services, make_user,
                                                 settings) -> None:  # type: ignore[no-untyped-def]
    _seed(services, 2, sent=2, seed=57)
    sign_in(client, make_user("icb_lead"))
    html = client.get("/dashboard").text
    assert html.count("<svg") == 4 and 'role="img"' in html and "<desc" in html
    assert 'id="kpi-referrals"><span class="suppressed"' in html  # 2 referrals: below 5
    page = client.get("/dashboard", params={"start": "2020-01", "end": "2020-03"}).text
    assert "Jan 2020 to Mar 2020" in page and "Nothing in this period" not in page.split("By month")[0]
