"""The web pages' rows for the access matrix (tests/auth/test_access_matrix.py), kept beside the
pages' tests. Subjects are the matrix's: the world has one attendance at RGT01 (trust RGT), with a
referral (one "refer" decision) so that referral and decision routes have real rows behind them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.service import Actor
from ed_alerts.flags.models import Decision
from ed_alerts.referrals import decisions
from ed_alerts.referrals.schemas import DecisionInput
from ed_alerts.services import Services

PUBLIC = "public"
NURSES = frozenset({"ed_nurse_a", "ed_nurse_b", "sg_nurse", "sg_nurse_other"})  # lists scoped in the query
OF_THE_ATTENDANCE = frozenset({"ed_nurse_a", "sg_nurse"})

WEB_EXPECTED: dict[tuple[str, str], str | frozenset[str]] = {
    ("GET", "/"): PUBLIC,  # sends each person to their own page, or to sign in
    ("GET", "/static/{name}"): PUBLIC,
    ("GET", "/board"): NURSES,
    ("GET", "/board/rows"): NURSES,
    ("GET", "/attendances/{attendance_id}"): OF_THE_ATTENDANCE,
    ("POST", "/attendances/{attendance_id}/decisions"): OF_THE_ATTENDANCE,
    ("POST", "/referrals/{referral_id}"): OF_THE_ATTENDANCE,
    ("POST", "/referrals/{referral_id}/checklist"): OF_THE_ATTENDANCE,
    ("GET", "/referrals/{referral_id}/delivery"): OF_THE_ATTENDANCE,
    ("GET", "/queue"): frozenset({"sg_nurse", "sg_nurse_other"}),
    ("POST", "/referrals/{referral_id}/audit"): frozenset({"sg_nurse"}),
    ("POST", "/decisions/{decision_id}/review"): frozenset({"sg_nurse"}),
    ("POST", "/referrals/{referral_id}/review"): frozenset({"sg_nurse"}),
    ("GET", "/patients/{patient_id}/timeline"): frozenset({"sg_nurse"}),
    ("GET", "/audit-chain"): frozenset({"sg_nurse", "sg_nurse_other", "icb_lead"}),
    ("GET", "/dashboard"): frozenset({"icb_lead"}),
    ("GET", "/dashboard.csv"): frozenset({"icb_lead"}),
}

# Form posts carry nothing: an allowed subject gets the form's own 409 or 422, never 401 or 403.
WEB_REQUESTS: dict[tuple[str, str], Any] = {}


def web_params(services: Services, attendance_id: int) -> dict[str, str]:
    """Path parameters for the web routes: the attendance's child, a decision and its referral."""
    with services.db.session() as session:
        decision = session.scalars(select(Decision).where(Decision.attendance_id == attendance_id)
                                   .order_by(Decision.id)).first()
        assert decision is not None, "the matrix's attendance raised no flag that needs a decision"
        decisions.record_decision(session, services.referrals, decision.id, Actor("matrix.nurse", "ed_nurse"),
                                  DecisionInput(outcome="refer", child_words="synthetic words"))
        assert decision.referral_id is not None
        patient_id = session.get_one(Attendance, attendance_id).patient_id
        return {"decision_id": str(decision.id), "referral_id": str(decision.referral_id),
                "patient_id": str(patient_id), "flag_id": str(decision.flag_id)}
