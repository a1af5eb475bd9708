"""GET /api/violence-export through the real app, on SQLite and PostgreSQL: which attendances are
exported, the CSV and JSON shapes, who may take it, bad periods, and the audit entry."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.flags.models import Flag
from ed_alerts.services import Services
from ed_alerts.violence_export.schemas import AssaultRow
from ed_alerts.violence_export.serialise import CSV_HEADER
from tests.violence_export.seed import FHIR_ISTV, HL7_ISTV, assault_visit, child, send, send_file

URL = "/api/violence-export"
JANUARY = {"from": "2026-01-01", "to": "2026-01-31"}


@pytest.fixture
def icb(make_user: Callable[..., Any], auth_headers: Callable[[Any], dict[str, str]]) -> dict[str, str]:
    return auth_headers(make_user("icb_lead", name="icb-lead"))


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_one_row_per_assault_attendance_with_the_documented_columns(
        client: TestClient, services: Services, icb: dict[str, str]) -> None:
    send_file(services, HL7_ISTV)
    send_file(services, FHIR_ISTV)

    res = client.get(URL, params=JANUARY, headers=icb)

    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "text/csv; charset=utf-8"
    assert res.headers["cache-control"] == "no-store"
    assert 'filename="istv-assaults-2026-01-01-to-2026-01-31.csv"' in res.headers["content-disposition"]
    assert res.text.splitlines()[0] == ",".join(CSV_HEADER)
    assert _csv(res.text) == [
        {"reporting_period_start": "2026-01-01", "reporting_period_end": "2026-01-31", "site_code": "RGT01",
         "arrival_date": "2026-01-10", "arrival_time": "19:28", "assault_date": "2026-01-10",
         "assault_time": "18:15", "assault_method": "knife_or_sharp_object",
         "assault_method_other_description": "", "assault_location_type": "park_or_open_space",
         "assault_location_description": "outside the park gates", "number_of_assailants": "2",
         "weapon": "yes", "age_band": "10-14", "sex": "male"},
        {"reporting_period_start": "2026-01-01", "reporting_period_end": "2026-01-31", "site_code": "RGT02",
         "arrival_date": "2026-01-12", "arrival_time": "23:05", "assault_date": "2026-01-12",
         "assault_time": "22:40", "assault_method": "other",
         "assault_method_other_description": "Corrosive substance", "assault_location_type": "home",
         # "Bellwether's kitchen, 3 Quagmire Close" names a person and a street: left out
         "assault_location_description": "", "number_of_assailants": "1",
         "weapon": "not known", "age_band": "15-17", "sex": "female"},
    ]


def test_json_is_the_submission_header_and_its_assaults(client: TestClient, services: Services,
                                                        icb: dict[str, str]) -> None:
    send_file(services, HL7_ISTV)

    res = client.get(URL, params={**JANUARY, "format": "json"}, headers=icb)

    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/json"
    body = res.json()
    assert set(body) == {"data_set", "reporting_period_start", "reporting_period_end", "time_zone",
                         "generated_at", "assaults"}
    assert body["data_set"] == "Information Sharing to Tackle Violence Minimum Data Set (ISB 1594)"
    assert (body["reporting_period_start"], body["reporting_period_end"]) == ("2026-01-01", "2026-01-31")
    assert body["time_zone"] == "Europe/London"
    [row] = body["assaults"]
    assert list(row) == list(AssaultRow.model_fields)
    assert row["number_of_assailants"] == 2 and row["assault_method_other_description"] is None
    assert row["assault_location_description"] == "outside the park gates"


def test_only_active_assault_attendances_at_eds_in_the_period_are_exported(
        client: TestClient, services: Services, icb: dict[str, str]) -> None:
    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    send(services, assault_visit("IN-ED", at), "C1")
    send(services, assault_visit("IN-MIU", at, site="RGTMIU"), "C2")
    send(services, assault_visit("AMBULANCE", at, site="RYC"), "C3")  # an ambulance incident: not A&E
    cancelled = assault_visit("CANCELLED", at)
    send(services, cancelled, "C4")
    send(services, cancelled, "C5", event="A11")  # cancelled: its flags are withdrawn
    send(services, assault_visit("NOT-ASSAULT", at, reason="Sprained ankle",
                                 diagnoses=[("S93.4", "Sprain of ankle", "I10")],
                                 notes=["Twisted ankle playing football."]), "C6")
    send(services, assault_visit("ADULT", at, kid=child(mrn="MRN-ADULT", birth_date=date(1990, 1, 1))), "C7")
    send(services, assault_visit("DECEMBER", datetime(2025, 12, 31, 23, 59, tzinfo=UTC)), "C8")
    send(services, assault_visit("FEBRUARY", datetime(2026, 2, 1, 0, 0, tzinfo=UTC)), "C9")
    # Weapon and group flags without an assault flag: a stab wound of undetermined intent.
    [weapon_only] = send(services, assault_visit(
        "WEAPON-ONLY", at, reason="Wound to leg",
        diagnoses=[("Y28", "Contact with sharp object, undetermined intent", "I10")],
        notes=["Chased by a gang of lads, cut on a fence."]), "C10")
    with services.db.session() as session:
        rules = set(session.scalars(select(Flag.rule_id).where(Flag.attendance_id == weapon_only)))
    assert {"weapon", "group_violence"} <= rules and "assault" not in rules

    rows = _csv(client.get(URL, params=JANUARY, headers=icb).text)

    assert [(r["site_code"], r["arrival_date"]) for r in rows] == [("RGT01", "2026-01-15"), ("RGTMIU", "2026-01-15")]


def test_the_period_is_in_local_days(client: TestClient, services: Services, icb: dict[str, str]) -> None:
    # 23:30 UTC on 31 May 2026 is 00:30 on 1 June in London: a June attendance.
    send(services, assault_visit("BST", datetime(2026, 5, 31, 23, 30, tzinfo=UTC)), "C1")
    june = _csv(client.get(URL, params={"from": "2026-06-01", "to": "2026-06-30"}, headers=icb).text)
    may = _csv(client.get(URL, params={"from": "2026-05-01", "to": "2026-05-31"}, headers=icb).text)
    assert [(r["arrival_date"], r["arrival_time"]) for r in june] == [("2026-06-01", "00:30")]
    assert may == []


def test_an_empty_period_is_a_header_only(client: TestClient, icb: dict[str, str]) -> None:
    res = client.get(URL, params=JANUARY, headers=icb)
    assert res.status_code == 200 and res.text == ",".join(CSV_HEADER) + "\n"
    assert client.get(URL, params={**JANUARY, "format": "json"}, headers=icb).json()["assaults"] == []


@pytest.mark.parametrize(("params", "reason"), [
    ({"from": "2026-02-01", "to": "2026-01-31"}, "is after 'to'"),
    ({"from": "2025-01-01", "to": "2026-01-31"}, "at most 366 days"),
    ({"from": "2026-13-01", "to": "2026-01-31"}, "valid date"),
    ({"from": "last month", "to": "2026-01-31"}, "valid date"),
    ({"to": "2026-01-31"}, "Field required"),
    ({**JANUARY, "format": "xml"}, "'csv' or 'json'"),
])
def test_a_bad_period_or_format_is_refused_with_the_reason(params: dict[str, str], reason: str,
                                                           client: TestClient, icb: dict[str, str]) -> None:
    res = client.get(URL, params=params, headers=icb)
    assert res.status_code == 422
    assert reason in res.text


@pytest.mark.parametrize("role,options", [
    ("ed_nurse", {"sites": ["RGT01"]}),
    ("safeguarding_nurse", {"trust": "RGT"}),
    ("integration", {}),
    ("admin", {}),
])
def test_only_the_icb_lead_may_take_it(role: str, options: dict[str, Any], client: TestClient,
                                       make_user: Callable[..., Any],
                                       auth_headers: Callable[[Any], dict[str, str]]) -> None:
    res = client.get(URL, params=JANUARY, headers=auth_headers(make_user(role, **options)))
    assert res.status_code == 403
    assert "icb_lead" in res.json()["detail"]
    assert client.get(URL, params=JANUARY).status_code == 401


def test_each_export_is_audited_without_naming_a_child(client: TestClient, services: Services,
                                                       icb: dict[str, str]) -> None:
    send_file(services, HL7_ISTV)
    client.get(URL, params={**JANUARY, "format": "json"}, headers=icb)
    with services.db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "violence_export.taken")).one()
        assert (entry.actor, entry.role, entry.entity_id) == ("icb-lead", "icb_lead", "2026-01-01/2026-01-31")
        assert entry.patient_id is None
        assert entry.details == {"from": "2026-01-01", "to": "2026-01-31", "format": "json", "rows": 1,
                                 "data_set": "Information Sharing to Tackle Violence Minimum Data Set (ISB 1594)"}
    verify = client.get(URL, params={"from": "2026-02-01", "to": "2026-01-01"}, headers=icb)
    assert verify.status_code == 422
    with services.db.session() as session:  # a refused request takes nothing, so nothing is audited
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "violence_export.taken")).all()) == 1
