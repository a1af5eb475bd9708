"""The safeguarding nurse's pages: the queue (filters, overdue first), auditing a referral as sent,
reviewing "not referred" decisions and referrals closed as not required, a child's timeline, and the
audit chain's status."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ed_alerts.audit.service import verify_chain
from ed_alerts.audit.views import get_access_reason, record_view
from ed_alerts.db.base import utcnow
from ed_alerts.deps import RowId, get_services
from ed_alerts.errors import DomainError, NotFound
from ed_alerts.flags.models import Decision
from ed_alerts.patients.models import Patient
from ed_alerts.patients.timeline import patient_timeline
from ed_alerts.referrals import decisions as decision_service
from ed_alerts.referrals import service as referral_service
from ed_alerts.referrals.schemas import DecisionReviewInput
from ed_alerts.services import Services
from ed_alerts.web.access import (
    ChainReader,
    Safeguarding,
    SafeguardingOfChild,
    SafeguardingOfDecision,
    SafeguardingOfReferral,
)
from ed_alerts.web.attendance import FormState, attendance_url, render_attendance
from ed_alerts.web.board_data import child_name
from ed_alerts.web.queue_data import STATE_FILTERS, STATE_LABELS, Filters, queue_page
from ed_alerts.web.rendering import page

router = APIRouter()
ServicesDep = Annotated[Services, Depends(get_services)]
ReasonDep = Annotated[str, Depends(get_access_reason)]


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def local_path(value: str | None, default: str) -> str:
    """Only a path on this site (the queue with its filters, or an attendance page)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or any(c in value for c in "\r\n"):
        return default
    return value


@router.get("/queue", name="queue_page")
def queue(request: Request, principal: Safeguarding, services: ServicesDep, site: str | None = None,
          state: str | None = None, rule: str | None = None, since: str | None = None, until: str | None = None,
          done: str | None = None, error: str | None = None) -> Response:
    filters = Filters(site=site or None, state=state if state in STATE_FILTERS else None, rule=rule or None,
                      since=_date(since), until=_date(until))
    with services.db.session() as session:
        data = queue_page(session, principal, services.sites, services.settings, filters, utcnow())
    notices = {"audited": "Referral audited as sent.", "reviewed": "Review recorded."}
    return page(request, "queue.html", {
        "data": data, "filters": filters, "states": STATE_FILTERS, "labels": STATE_LABELS,
        "rules": sorted((r.id, r.title) for r in services.pack.rules), "notice": notices.get(done or ""),
        "error": error, "now": utcnow(),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }, principal=principal)


def _back_with(back: str, key: str, value: str) -> str:
    """`back` with `key=value`, and without an earlier action's notice or error."""
    path, _, query = back.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in ("done", "error")]
    return f"{path}?{urlencode([*kept, (key, value)])}"


@router.post("/referrals/{referral_id}/audit", name="referral_audit_submit")
def referral_audit(request: Request, referral_id: RowId, principal: SafeguardingOfReferral, services: ServicesDep,
                   comment: Annotated[str, Form(max_length=10_000)] = "",
                   back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Confirm a referral the local authority acknowledged: `audited`, by this named nurse."""
    try:
        with services.db.session() as session:
            referral = referral_service.confirm_audited(session, referral_id, principal.actor, comment or None)
            attendance_id = referral.attendance_id
    except DomainError:
        if back.startswith(request.url_for("queue_page").path):
            return RedirectResponse(_back_with(local_path(back, "/queue"), "error", "audit-refused"), 303)
        raise
    default = attendance_url(request, attendance_id, "audited", "delivery")
    target = local_path(back, default)
    return RedirectResponse(_back_with(target, "done", "audited") if target != default else target, 303)


@router.post("/decisions/{decision_id}/review", name="decision_review_submit")
def decision_review(request: Request, decision_id: RowId, principal: SafeguardingOfDecision, services: ServicesDep,
                    verdict: Annotated[str, Form(max_length=10)] = "",
                    comment: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    """Agree with a decision not to refer, or overturn it (a comment is then required)."""
    with services.db.session() as session:
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise NotFound(f"decision {decision_id} does not exist")
        attendance_id = decision.attendance_id
    form = FormState(values={"review_decision": decision_id, "verdict": verdict, "comment": comment})
    if verdict not in ("agree", "refer"):
        form.errors.append("Choose whether you agree, or a referral is needed after all.")
    else:
        try:
            with services.db.session() as session:
                decision_service.review_decision(session, services.referrals, decision_id, principal.actor,
                                                 DecisionReviewInput(comment=comment or None, refer=verdict == "refer"))
        except DomainError as exc:
            form.errors.append(exc.reason[:1].upper() + exc.reason[1:])
    if form.errors:
        return render_attendance(request, services, principal, attendance_id, reason="safeguarding review",
                                 status=422, decision_form=form)
    return RedirectResponse(attendance_url(request, attendance_id, "reviewed", "decisions"), 303)


@router.post("/referrals/{referral_id}/review", name="referral_review_submit")
def referral_review(request: Request, referral_id: RowId, principal: SafeguardingOfReferral, services: ServicesDep,
                    comment: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    """Review a referral someone closed as not required."""
    with services.db.session() as session:
        referral = referral_service.review_not_required(session, referral_id, principal.actor, comment or None)
        attendance_id = referral.attendance_id
    return RedirectResponse(attendance_url(request, attendance_id, "reviewed", "referral"), 303)


@router.get("/patients/{patient_id}/timeline", name="timeline_page")
def timeline(request: Request, patient_id: RowId, principal: SafeguardingOfChild, services: ServicesDep,
             reason: ReasonDep) -> Response:
    with services.db.session() as session:
        result = patient_timeline(session, patient_id)
        patient = session.get_one(Patient, patient_id)
        name = child_name(patient.family_name, patient.given_names)
        birth = patient.birth_date
        record_view(session, principal.actor, "patient", patient_id, patient_id=patient_id, reason=reason)
    return page(request, "timeline.html", {"timeline": result, "child": name, "birth_date": birth,
                                           "patient_id": patient_id}, principal=principal)


@router.get("/audit-chain", name="audit_chain_page")
def audit_chain(request: Request, principal: ChainReader, services: ServicesDep) -> Response:
    """Whether the audit log's hash chain holds, entry by entry. No identifiers on this page."""
    started = utcnow()
    with services.db.session() as session:
        report = verify_chain(session)
    seconds = (utcnow() - started).total_seconds()
    return page(request, "audit_chain.html", {"report": report, "checked_at": started, "seconds": seconds},
                principal=principal)
