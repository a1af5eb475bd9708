"""Scope rules: which attendances each principal sees, in Python and as SQL, and through the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ed_alerts.attendances.models import Attendance
from ed_alerts.auth.policy import require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.auth.scopes import (
    AttendanceRef,
    attendance_refusal,
    can_see_attendance,
    feed_refusal,
    trust_area,
    visible_attendances,
)
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.patients.models import Patient
from ed_alerts.services import Services
from ed_alerts.sites.registry import SiteRegistry
from tests.auth.helpers import adt_for
from tests.conftest import DATA

SITES = SiteRegistry.load(DATA / "sites.yaml", "UNREGISTERED")
NURSE_A = Principal("a", Role.ED_NURSE, frozenset({"RGT01"}))
SG_RGT = Principal("s", Role.SAFEGUARDING_NURSE, trust="RGT")
SG_RYC = Principal("r", Role.SAFEGUARDING_NURSE, trust="RYC")
OTHERS = [Principal("i", Role.ICB_LEAD), Principal("f", Role.INTEGRATION), Principal("d", Role.ADMIN)]

ED_RGT01 = AttendanceRef("RGT01", "RGT", "hospital_ed", "CB1 2AB")
ED_RGT02 = AttendanceRef("RGT02", "RGT", "hospital_ed", "CB1 2AB")
AMB_LOCAL = AttendanceRef("RYC", "RYC", "ambulance", "cb4 1xy")  # lives in RGT's area
AMB_AWAY = AttendanceRef("RYC", "RYC", "ambulance", "E8 3QP")  # lives in London
AMB_UNKNOWN = AttendanceRef("RYC", "RYC", "ambulance", "ZZ99 3VZ")  # no fixed abode


@pytest.mark.parametrize(("principal", "att", "visible"), [
    (NURSE_A, ED_RGT01, True),
    (NURSE_A, ED_RGT02, False),  # site A's nurse, site B's attendance
    (NURSE_A, AMB_LOCAL, False),
    (SG_RGT, ED_RGT01, True),
    (SG_RGT, ED_RGT02, True),
    (SG_RGT, AMB_LOCAL, True),  # the ambulance service's attendance of a child living in the trust's area
    (SG_RGT, AMB_AWAY, False),
    (SG_RGT, AMB_UNKNOWN, False),
    (SG_RYC, AMB_AWAY, True),  # the ambulance trust's own safeguarding nurse sees all its incidents
    (SG_RYC, AMB_UNKNOWN, True),
    (SG_RYC, ED_RGT01, False),  # another trust
    *[(p, ED_RGT01, False) for p in OTHERS],
])
def test_who_sees_which_attendance(principal: Principal, att: AttendanceRef, visible: bool) -> None:
    refusal = attendance_refusal(principal, att, SITES)
    assert (refusal is None) is visible
    assert can_see_attendance(principal, att.site_code, att.trust, att.source_type, att.patient_postcode,
                              sites=SITES) is visible
    if not visible:
        assert refusal  # a reason, for the 403


def test_trust_area_is_the_union_of_its_sites_areas() -> None:
    assert "CB1" in trust_area(SITES, "rgt") and "PE29" in trust_area(SITES, "RGT")
    assert trust_area(SITES, "NOWHERE") == []


def test_feed_scope() -> None:
    scoped = Principal("f", Role.INTEGRATION, frozenset({"RGT02"}))
    assert feed_refusal(Principal("f", Role.INTEGRATION), "ANYONE") is None
    assert feed_refusal(scoped, "rgt02") is None
    assert "only for RGT02" in (feed_refusal(scoped, "RGT01") or "")
    assert feed_refusal(scoped, None)
    assert feed_refusal(NURSE_A, "RGT01")


def test_an_icb_lead_can_never_be_granted_an_identifiable_route() -> None:
    with pytest.raises(ValueError, match="aggregates only"):
        require(Role.ICB_LEAD, Role.SAFEGUARDING_NURSE)
    require(Role.ICB_LEAD, identifiable=False)  # aggregates are fine


POSTCODES = ["CB1 2AB", "cb12ab", "CB1", "CB12 3AB", "CB1A 1AA", "PE27 5AA", "PE2 7AA", "E8 3QP", "ZZ99 3VZ",
             "NFA", "", None, "CB1 2A1", "CB1X2AB", " cb4  1xy "]


@pytest.mark.parametrize("area", [["CB1", "PE27"], ["CB"], ["E"], ["PE27", "CB12"]])
def test_the_sql_condition_decides_like_the_python_rule(services: Services, area: list[str]) -> None:
    """`visible_attendances` (for queues) must agree with `attendance_refusal` (for one record)."""
    from ed_alerts.sites.registry import Site

    registry = SiteRegistry([Site(code="H1", name="h", trust="T1", source_type="hospital_ed", area=area),
                             Site(code="AMB", name="a", trust="AMB", source_type="ambulance", area=["CB"])], "U")
    with services.db.session() as s:
        for i, postcode in enumerate(POSTCODES):
            patient = Patient(postcode=postcode, address_lines=[])
            s.add(patient)
            s.flush()
            for site, trust, source in (("AMB", "AMB", "ambulance"), ("H2", "T2", "hospital_ed"),
                                        ("H1", "T1", "hospital_ed")):
                s.add(Attendance(patient_id=patient.id, site_code=site, trust=trust, source_type=source,
                                 visit_number=f"v{i}", clinical={}))
    principals = [Principal("s", Role.SAFEGUARDING_NURSE, trust="T1"), Principal("n", Role.ED_NURSE, frozenset({"H2"})),
                  Principal("x", Role.SAFEGUARDING_NURSE, trust="AMB"), Principal("i", Role.ICB_LEAD)]
    with services.db.session() as s:
        rows = s.execute(select(Attendance, Patient.postcode).join(Patient, Patient.id == Attendance.patient_id)).all()
        for principal in principals:
            in_sql = set(s.scalars(select(Attendance.id).join(Patient, Patient.id == Attendance.patient_id)
                                   .where(visible_attendances(principal, registry))))
            in_python = {a.id for a, postcode in rows if attendance_refusal(
                principal, AttendanceRef(a.site_code, a.trust, a.source_type, postcode), registry) is None}
            assert in_sql == in_python, (principal, area)


def _ambulance_attendance(services: Services, postcode: str, control: str) -> int:
    outcome = ingest(services.ingest, adt_for("RYC", control, postcode=postcode, seed=sum(control.encode())),
                     ContentType.HL7V2, Transport.HTTP)
    assert outcome.accepted, outcome.reason
    return outcome.attendance_ids[0]


def test_ambulance_attendances_through_the_api(client: TestClient, services: Services, make_user,
                                               auth_headers) -> None:
    local = _ambulance_attendance(services, "CB4 1XY", "AMB1")
    away = _ambulance_attendance(services, "E8 3QP", "AMB2")
    sg_rgt = auth_headers(make_user("safeguarding_nurse", trust="RGT"))
    sg_ryc = auth_headers(make_user("safeguarding_nurse", trust="RYC"))
    nurse = auth_headers(make_user("ed_nurse", sites=["RGT01"]))
    assert client.get(f"/api/attendances/{local}", headers=sg_rgt).status_code == 200
    refused = client.get(f"/api/attendances/{away}", headers=sg_rgt)
    assert refused.status_code == 403 and "not in the area of trust RGT" in refused.json()["detail"]
    assert client.get(f"/api/attendances/{away}", headers=sg_ryc).status_code == 200
    assert client.get(f"/api/attendances/{local}", headers=nurse).status_code == 403


def test_a_nurse_sees_the_childs_other_attendances_only_within_scope(client: TestClient, services: Services,
                                                                     make_user, auth_headers) -> None:
    from ed_alerts.synthetic import Generator, adt

    gen = Generator(seed=99)
    child = gen.child()
    ids = []
    for site in ("RGT01", "RGT02", "RGT01"):
        outcome = ingest(services.ingest, adt(gen.visit(child, site), control_id=gen.next_id("O")),
                         ContentType.HL7V2, Transport.HTTP)
        ids.append(outcome.attendance_ids[0])
    nurse = auth_headers(make_user("ed_nurse", sites=["RGT01"]))
    sg = auth_headers(make_user("safeguarding_nurse", trust="RGT"))
    as_nurse = client.get(f"/api/attendances/{ids[0]}", headers=nurse).json()
    assert [a["site_code"] for a in as_nurse["other_attendances"]] == ["RGT01"]
    as_sg = client.get(f"/api/attendances/{ids[0]}", headers=sg).json()
    assert sorted(a["site_code"] for a in as_sg["other_attendances"]) == ["RGT01", "RGT02"]


def test_patient_and_row_scopes(services: Services) -> None:
    """`patient_scope` and `attendance_of` (for routes keyed by a child, a flag, a referral...)."""
    from ed_alerts.auth.scopes import attendance_of, can_see_patient
    from ed_alerts.flags.models import Flag

    outcome = ingest(services.ingest, adt_for("RGT02", "PS1", kind="assault"), ContentType.HL7V2, Transport.HTTP)
    with services.db.session() as s:
        attendance = s.get_one(Attendance, outcome.attendance_ids[0])
        flag_id = s.scalars(select(Flag.id).where(Flag.attendance_id == attendance.id)).first()
        assert flag_id is not None
        resolve = attendance_of(Flag.id, Flag.attendance_id)
        assert resolve(s, str(flag_id)) == attendance.id
        assert resolve(s, "999999") is None and resolve(s, "x") is None
        nurse_b = Principal("b", Role.ED_NURSE, frozenset({"RGT02"}))
        assert can_see_patient(s, nurse_b, attendance.patient_id, services.sites)
        assert not can_see_patient(s, NURSE_A, attendance.patient_id, services.sites)
        assert can_see_patient(s, SG_RGT, attendance.patient_id, services.sites)
        assert not can_see_patient(s, Principal("i", Role.ICB_LEAD), attendance.patient_id, services.sites)
