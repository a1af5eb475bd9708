"""Referral workflow API: decisions, referrals, the safeguarding queue, escalations, the audit chain
and a child's timeline. Thin: each route opens the unit of work, calls a service, returns a view.

The acting user comes from `get_actor` (ed_alerts/actors.py), which the authentication work swaps
for the signed-in user; views of identifiable records are audited with the access reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ed_alerts.actors import get_actor
from ed_alerts.audit.schemas import ChainStatus
from ed_alerts.audit.service import Actor, verify_chain
from ed_alerts.audit.views import get_access_reason, record_view
from ed_alerts.auth.policy import require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.auth.scopes import attendance_of, attendance_scope, patient_scope, visible_attendances
from ed_alerts.db.base import utcnow
from ed_alerts.deps import RowId, get_services
from ed_alerts.flags.models import Decision
from ed_alerts.openapi import errors
from ed_alerts.patients.schemas import Timeline
from ed_alerts.patients.timeline import patient_timeline
from ed_alerts.referrals import decisions, service
from ed_alerts.referrals.detail import referral_view
from ed_alerts.referrals.models import Referral
from ed_alerts.referrals.queue import QueueFilter, list_escalations, safeguarding_queue
from ed_alerts.referrals.schemas import (
    CommentInput,
    DecisionInput,
    DecisionReviewInput,
    DecisionView,
    EscalationView,
    NotRequiredInput,
    QueueView,
    ReferralUpdate,
    ReferralView,
)
from ed_alerts.services import Services

router = APIRouter(prefix="/api", tags=["referrals"])

ServicesDep = Annotated[Services, Depends(get_services)]
NURSES = (Role.ED_NURSE, Role.SAFEGUARDING_NURSE)
DECISION_SCOPE = attendance_scope("decision_id", resolve=attendance_of(Decision.id, Decision.attendance_id))
REFERRAL_SCOPE = attendance_scope("referral_id", resolve=attendance_of(Referral.id, Referral.attendance_id))
NurseOnDecision = Annotated[Principal, require(*NURSES, scope=DECISION_SCOPE)]
SafeguardingOnDecision = Annotated[Principal, require(Role.SAFEGUARDING_NURSE, scope=DECISION_SCOPE)]
NurseOnReferral = Annotated[Principal, require(*NURSES, scope=REFERRAL_SCOPE)]
SafeguardingOnReferral = Annotated[Principal, require(Role.SAFEGUARDING_NURSE, scope=REFERRAL_SCOPE)]
Safeguarding = Annotated[Principal, require(Role.SAFEGUARDING_NURSE)]
ActorDep = Annotated[Actor, Depends(get_actor)]
ReasonDep = Annotated[str, Depends(get_access_reason)]


@router.post("/decisions/{decision_id}", summary="Record the referral decision a flag requires",
             responses=errors(404, 409, 422))
def record_decision(decision_id: RowId, body: DecisionInput, services: ServicesDep,
                    actor: ActorDep, _: NurseOnDecision) -> DecisionView:
    with services.db.session() as session:
        decision = decisions.record_decision(session, services.referrals, decision_id, actor, body)
        return DecisionView.model_validate(decision)


@router.post("/decisions/{decision_id}/review", summary="Safeguarding nurse reviews a decision not to refer",
             responses=errors(404, 409, 422))
def review_decision(decision_id: RowId, body: DecisionReviewInput, services: ServicesDep,
                    actor: ActorDep, _: SafeguardingOnDecision) -> DecisionView:
    with services.db.session() as session:
        decision = decisions.review_decision(session, services.referrals, decision_id, actor, body)
        return DecisionView.model_validate(decision)


@router.get("/referrals/{referral_id}", summary="A referral with what it still lacks (audited view)",
            responses=errors(404))
def get_referral(referral_id: RowId, services: ServicesDep, actor: ActorDep, reason: ReasonDep,
                 _: NurseOnReferral) -> ReferralView:
    with services.db.session() as session:
        referral = service.get_referral(session, referral_id)
        record_view(session, actor, "referral", referral.id, patient_id=referral.patient_id, reason=reason)
        return referral_view(session, services.referrals, referral, utcnow())


@router.patch("/referrals/{referral_id}", summary="Edit the referral draft", responses=errors(404, 409))
def update_referral(referral_id: RowId, body: ReferralUpdate, services: ServicesDep,
                    actor: ActorDep, _: NurseOnReferral) -> ReferralView:
    with services.db.session() as session:
        referral = service.update_draft(session, services.referrals, referral_id, actor, body)
        return referral_view(session, services.referrals, referral, utcnow())


@router.post("/referrals/{referral_id}/not-required",
             summary="Close a referral as not required, with a rationale", responses=errors(404, 409, 422))
def close_not_required(referral_id: RowId, body: NotRequiredInput, services: ServicesDep,
                       actor: ActorDep, _: NurseOnReferral) -> ReferralView:
    with services.db.session() as session:
        referral = service.close_not_required(session, referral_id, actor, body.rationale)
        return referral_view(session, services.referrals, referral, utcnow())


@router.post("/referrals/{referral_id}/review", summary="Safeguarding nurse reviews a not_required referral",
             responses=errors(404, 409))
def review_not_required(referral_id: RowId, body: CommentInput, services: ServicesDep,
                        actor: ActorDep, _: SafeguardingOnReferral) -> ReferralView:
    with services.db.session() as session:
        referral = service.review_not_required(session, referral_id, actor, body.comment)
        return referral_view(session, services.referrals, referral, utcnow())


@router.post("/referrals/{referral_id}/send", status_code=202,
             summary="Send a complete referral (delivered by the scheduler through the outbox)",
             responses=errors(404, 409, 422))
def send_referral(referral_id: RowId, services: ServicesDep, actor: ActorDep,
                  _: NurseOnReferral) -> ReferralView:
    with services.db.session() as session:
        referral = service.send(session, services.referrals, referral_id, actor)
        return referral_view(session, services.referrals, referral, utcnow())


@router.post("/referrals/{referral_id}/audit", summary="Safeguarding nurse confirms a delivered referral",
             responses=errors(404, 409))
def audit_referral(referral_id: RowId, body: CommentInput, services: ServicesDep,
                   actor: ActorDep, _: SafeguardingOnReferral) -> ReferralView:
    with services.db.session() as session:
        referral = service.confirm_audited(session, referral_id, actor, body.comment)
        return referral_view(session, services.referrals, referral, utcnow())


@router.get("/queue", summary="The safeguarding queue: decisions and referrals by state, overdue first")
def queue(services: ServicesDep, principal: Safeguarding,
          site: str | None = None, state: str | None = None, rule: str | None = None,
          since: Annotated[datetime | None, Query(alias="from")] = None,
          until: Annotated[datetime | None, Query(alias="to")] = None,
          limit: Annotated[int, Query(ge=1, le=2000)] = 500) -> QueueView:
    with services.db.session() as session:
        return safeguarding_queue(session, services.settings,
                                  QueueFilter(site=site, state=state, rule=rule, since=since, until=until,
                                              limit=limit,
                                              visible=visible_attendances(principal, services.sites)),
                                  utcnow())


@router.get("/escalations", summary="Escalations, newest first")
def escalations(services: ServicesDep, principal: Safeguarding, site: str | None = None,
                kind: str | None = None,
                limit: Annotated[int, Query(ge=1, le=2000)] = 200) -> list[EscalationView]:
    with services.db.session() as session:
        return list_escalations(session, site=site, kind=kind, limit=limit,
                                visible=visible_attendances(principal, services.sites))


@router.get("/audit/verify", summary="Check the audit log's hash chain",
            dependencies=[require(Role.SAFEGUARDING_NURSE, Role.ADMIN, identifiable=False)])
def audit_verify(services: ServicesDep) -> ChainStatus:
    with services.db.session() as session:
        report = verify_chain(session)
    return ChainStatus(ok=report.ok, checked=report.checked, first_broken_id=report.first_broken_id,
                       problem=report.problem)


@router.get("/patients/{patient_id}/timeline", summary="A child's whole trail in time order (audited view)",
            responses=errors(404))
def timeline(patient_id: RowId, services: ServicesDep, actor: ActorDep, reason: ReasonDep,
             _: Annotated[Principal, require(Role.SAFEGUARDING_NURSE, scope=patient_scope())]) -> Timeline:
    with services.db.session() as session:
        result = patient_timeline(session, patient_id)
        record_view(session, actor, "patient", patient_id, patient_id=patient_id, reason=reason)
        return result
