"""The attendance page and its forms: the referral decision, the referral draft with its live
checklist, sending it, and its delivery status.

Every view of the page is audited (`record.viewed`, with the access reason). Forms post back here
(CSRF-protected by the policy), then redirect to the page (post/redirect/get); a form that cannot be
accepted is shown again with what was typed and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ed_alerts.audit.views import get_access_reason, record_view
from ed_alerts.auth.principal import Principal
from ed_alerts.db.base import utcnow
from ed_alerts.deps import RowId, get_services
from ed_alerts.errors import Conflict, DomainError, NotFound
from ed_alerts.flags.models import Decision
from ed_alerts.referrals import decisions as decision_service
from ed_alerts.referrals import service as referral_service
from ed_alerts.referrals.completeness import IncompleteReferral, MissingField, MissingInput
from ed_alerts.referrals.detail import referral_view
from ed_alerts.referrals.schemas import DecisionInput
from ed_alerts.referrals.transitions import ReferralState
from ed_alerts.services import Services
from ed_alerts.web.access import AttendanceReader, ReferralWriter
from ed_alerts.web.attendance_data import AttendancePage, build
from ed_alerts.web.referral_form import FormValues, InvalidForm, changes, missing_with, parse, update_of
from ed_alerts.web.rendering import fragment, page

router = APIRouter()
ServicesDep = Annotated[Services, Depends(get_services)]
ReasonDep = Annotated[str, Depends(get_access_reason)]

DONE = {
    "decision": "Decision recorded.",
    "referral": "Decision recorded. A referral has been started below: complete it and send it.",
    "saved": "Referral draft saved.",
    "sent": "Referral sent. It is delivered to the local authority in the background; its status is below.",
    "audited": "Referral audited as sent.",
    "reviewed": "Review recorded.",
}


@dataclass
class FormState:
    """What to show again in a form that was not accepted."""

    errors: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    missing: list[MissingField] | None = None


def attendance_url(request: Request, attendance_id: int, done: str | None = None, anchor: str = "") -> str:
    url = request.url_for("attendance_page", attendance_id=attendance_id).path
    return url + (f"?done={done}" if done else "") + (f"#{anchor}" if anchor else "")


def render_attendance(request: Request, services: Services, principal: Principal, attendance_id: int, *,
                      reason: str, status: int = 200, notice: str | None = None,
                      decision_form: FormState | None = None, referral_form: FormState | None = None,
                      referral_values: FormValues | None = None) -> Response:
    now = utcnow()
    with services.db.session() as session:
        data: AttendancePage | None = build(session, services.referrals, principal, attendance_id, now)
        if data is None:
            raise NotFound(f"attendance {attendance_id} does not exist")
        record_view(session, principal.actor, "attendance", attendance_id, patient_id=data.patient.id,
                    reason=reason)
    if referral_values is not None and data.referral is not None:
        data.referral_values = referral_values
    missing = (referral_form.missing if referral_form and referral_form.missing is not None
               else data.referral.missing if data.referral else [])
    return page(request, "attendance.html", {
        "data": data, "notice": notice, "decision_form": decision_form or FormState(),
        "referral_form": referral_form or FormState(), "missing": missing, "now": now,
        "editable": data.referral is not None and data.referral.state in referral_service.EDITABLE,
    }, principal=principal, status_code=status)


@router.get("/attendances/{attendance_id}", name="attendance_page")
def attendance_page(request: Request, attendance_id: RowId, principal: AttendanceReader, services: ServicesDep,
                    reason: ReasonDep, done: str | None = None) -> Response:
    return render_attendance(request, services, principal, attendance_id, reason=reason, notice=DONE.get(done or ""))


@router.post("/attendances/{attendance_id}/decisions", name="decisions_submit")
def decisions_submit(request: Request, attendance_id: RowId, principal: AttendanceReader, services: ServicesDep,
                     decision: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI reads it, never mutates
                     outcome: Annotated[str, Form(max_length=20)] = "",
                     rationale: Annotated[str, Form(max_length=10_000)] = "",
                     child_words: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    form = FormState(values={"decision": decision, "outcome": outcome, "rationale": rationale,
                             "child_words": child_words})
    if not decision:
        form.errors.append("Choose the flags this decision is about.")
    if outcome not in ("refer", "not_refer"):
        form.errors.append("Choose whether to refer the child to the local authority.")
    if not form.errors:
        body = DecisionInput(outcome=outcome, rationale=rationale or None,  # type: ignore[arg-type]
                             child_words=child_words or None)
        try:
            with services.db.session() as session:
                for decision_id in decision:
                    row = session.get(Decision, decision_id)
                    if row is None or row.attendance_id != attendance_id:
                        raise NotFound(f"decision {decision_id} is not one of this attendance's")
                    decision_service.record_decision(session, services.referrals, decision_id, principal.actor, body)
        except (MissingInput, Conflict, NotFound) as exc:
            form.errors.append(_sentence(exc.reason))
    if form.errors:
        return render_attendance(request, services, principal, attendance_id, reason="direct care: decision form",
                                 status=422, decision_form=form)
    done = "referral" if outcome == "refer" else "decision"
    return RedirectResponse(attendance_url(request, attendance_id, done, "referral" if outcome == "refer"
                                           else "decisions"), status_code=303)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


@router.post("/referrals/{referral_id}", name="referral_submit")
async def referral_submit(request: Request, referral_id: RowId, principal: ReferralWriter,
                          services: ServicesDep) -> Response:
    form = await request.form()  # already read (and cached) by the CSRF check
    action = form.get("action")
    submitted = parse(form)
    return await run_in_threadpool(_save_and_send, request, services, principal, referral_id, submitted,
                                   send=action == "send")


def _save_and_send(request: Request, services: Services, principal: Principal, referral_id: int,
                   submitted: FormValues, *, send: bool) -> Response:
    ctx = services.referrals
    state = FormState()
    with services.db.session() as session:
        referral = referral_service.get_referral(session, referral_id)
        attendance_id = referral.attendance_id
    try:
        with services.db.session() as session:
            referral = referral_service.get_referral(session, referral_id, for_update=True)
            changed = changes(referral, submitted)
            if changed or (send and referral.state == ReferralState.REQUIRED):  # sent from drafted only
                referral_service.update_draft(session, ctx, referral_id, principal.actor, update_of(changed))
    except InvalidForm as exc:
        state.errors.extend(exc.problems)
    except Conflict as exc:
        state.errors.append(_sentence(exc.reason))
    if state.errors:
        with services.db.session() as session:
            referral = referral_service.get_referral(session, referral_id)
            state.missing = missing_with(session, ctx, referral, submitted)
        return render_attendance(request, services, principal, attendance_id, reason="direct care: referral form",
                                 status=422 if not send else 409, referral_form=state, referral_values=submitted)
    if not send:
        return RedirectResponse(attendance_url(request, attendance_id, "saved", "referral"), status_code=303)
    try:
        with services.db.session() as session:
            referral_service.send(session, ctx, referral_id, principal.actor)
    except IncompleteReferral as exc:
        state.errors.append("The referral was saved but not sent: the local authority still needs "
                            + ", ".join(m.label.lower() for m in exc.missing) + ".")
        state.missing = exc.missing
        return render_attendance(request, services, principal, attendance_id, reason="direct care: referral form",
                                 status=422, referral_form=state)
    except DomainError as exc:
        state.errors.append(_sentence(exc.reason))
        return render_attendance(request, services, principal, attendance_id, reason="direct care: referral form",
                                 status=exc.status_code, referral_form=state)
    return RedirectResponse(attendance_url(request, attendance_id, "sent", "delivery"), status_code=303)


@router.post("/referrals/{referral_id}/checklist", name="referral_checklist")
async def referral_checklist(request: Request, referral_id: RowId, principal: ReferralWriter,
                             services: ServicesDep) -> Response:
    """What would still be missing with the form as typed: a fragment for the page's script."""
    submitted = parse(await request.form())

    def compute() -> list[MissingField]:
        with services.db.session() as session:
            referral = referral_service.get_referral(session, referral_id)
            return missing_with(session, services.referrals, referral, submitted)

    missing = await run_in_threadpool(compute)
    return fragment(request, "partials/checklist.html", {"missing": missing}, principal=principal)


@router.get("/referrals/{referral_id}/delivery", name="referral_delivery")
def referral_delivery(request: Request, referral_id: RowId, principal: ReferralWriter,
                      services: ServicesDep) -> Response:
    """The referral's state and delivery status (no child identifiers): refreshed while pending."""
    with services.db.session() as session:
        referral = referral_service.get_referral(session, referral_id)
        view = referral_view(session, services.referrals, referral, utcnow())
    return fragment(request, "partials/delivery.html", {"referral": view, "now": utcnow()}, principal=principal)
