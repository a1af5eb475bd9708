"""Everything the attendance page shows, gathered in one read: the child, this attendance with its
text and the evidence marked in it, each flag with its evidence and decision, the child's other
attendances across every site and the ambulance service, and the referral with what it still lacks.

Other attendances outside the viewer's scope are listed without their content (when, where, which
rules fired): the nurse learns that the child was seen elsewhere, and whom to ask, without seeing
another organisation's record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ed_alerts.attendances.queries import attendance_detail
from ed_alerts.attendances.schemas import AttendanceDetail, AttendanceView, FlagView
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.scopes import AttendanceRef, attendance_refusal
from ed_alerts.domain import NHS_NUMBER_SYSTEM
from ed_alerts.flags.models import Decision, DecisionStatus, Flag, FlagStatus
from ed_alerts.patients.models import Patient
from ed_alerts.referrals.context import ReferralContext
from ed_alerts.referrals.detail import referral_view
from ed_alerts.referrals.due import SEVERITY_ORDER, decision_due
from ed_alerts.referrals.models import Referral
from ed_alerts.referrals.schemas import ReferralView
from ed_alerts.sites.registry import SiteRegistry
from ed_alerts.web.highlight import REASON, Segment, Span, locate, segments, snippet, text_of
from ed_alerts.web.referral_form import FormValues, values_of


@dataclass
class EvidenceItem:
    description: str
    kind: str
    uncertain: bool
    where: str = ""
    snippet: list[Segment] = field(default_factory=list)  # for text evidence that could be placed


@dataclass
class FlagItem:
    view: FlagView
    evidence: list[EvidenceItem]
    decision: Decision | None
    due: datetime | None


@dataclass
class TextBlock:
    label: str
    segments: list[Segment]
    anchor: str


@dataclass
class OtherAttendance:
    view: AttendanceView
    site_name: str
    visible: bool
    flag_titles: list[str]


@dataclass
class AttendancePage:
    detail: AttendanceDetail
    site_name: str
    nhs_number: str | None
    local_ids: list[dict[str, str]]
    address: str
    texts: list[TextBlock]
    diagnoses: list[tuple[dict[str, Any], str]]  # (coding, rules that matched it)
    observations: list[tuple[dict[str, Any], str]]
    flags: list[FlagItem]
    pending: list[FlagItem]
    others: list[OtherAttendance]
    referral: ReferralView | None
    referral_values: FormValues | None
    authorities: list[str]
    now: datetime

    @property
    def patient(self):  # type: ignore[no-untyped-def]
        return self.detail.patient

    @property
    def attendance(self) -> AttendanceView:
        return self.detail.attendance

    @property
    def not_referred_awaiting_review(self) -> list[FlagItem]:
        return [f for f in self.flags if f.decision is not None and f.decision.status == DecisionStatus.NOT_REFER
                and f.decision.reviewed_at is None]


def _site_name(sites: SiteRegistry, code: str) -> str:
    site = sites.lookup(code)
    return site.name if site else code


def _where(evidence: dict[str, Any]) -> str:
    if evidence.get("source_index") is REASON and evidence.get("source") == "reason":
        return "presenting complaint"
    return str(evidence.get("source") or "")


def build(session: Session, ctx: ReferralContext, principal: Principal, attendance_id: int,
          now: datetime) -> AttendancePage | None:
    detail = attendance_detail(session, attendance_id)
    if detail is None:
        return None
    att = detail.attendance
    patient = session.get_one(Patient, detail.patient.id)
    clinical = att.clinical or {}
    notes: list[dict[str, Any]] = [n for n in clinical.get("notes", []) if isinstance(n, dict)]
    decisions = {d.flag_id: d for d in session.scalars(select(Decision).where(Decision.attendance_id == att.id))}

    # Evidence spans per text, for the whole-text view; snippets per flag.
    spans: dict[int | None, list[Span]] = defaultdict(list)
    coded: dict[tuple[str, str], list[str]] = defaultdict(list)
    flags: list[FlagItem] = []
    for flag in detail.flags:
        items = []
        for ev in flag.evidence:
            item = EvidenceItem(description=str(ev.get("description", "")), kind=str(ev.get("kind", "")),
                                uncertain=bool(ev.get("uncertain")), where=_where(ev))
            if ev.get("kind") == "text":
                index = ev.get("source_index")
                text = text_of(index if isinstance(index, int) else REASON, att.reason, notes)
                place = locate(text, ev) if text else None
                if text and place:
                    span = Span(place[0], place[1], flag.title)
                    if flag.status == FlagStatus.ACTIVE:
                        spans[index if isinstance(index, int) else REASON].append(span)
                    item.snippet = snippet(text, span)
            elif ev.get("code") and flag.status == FlagStatus.ACTIVE:
                coded[(str(ev.get("source", "")).split(" ")[0], str(ev["code"]))].append(flag.title)
            items.append(item)
        decision = decisions.get(flag.id)
        due = None
        if decision is not None and decision.status == DecisionStatus.PENDING:
            due = decision_due(ctx.settings, flag.severity, flag.raised_at, decision.due_at)
        flags.append(FlagItem(view=flag, evidence=items, decision=decision, due=due))
    flags.sort(key=lambda f: (f.view.status != FlagStatus.ACTIVE, SEVERITY_ORDER.get(f.view.severity, 9)))

    texts = []
    if att.reason:
        texts.append(TextBlock("Presenting complaint", segments(att.reason, spans[REASON]), "text-reason"))
    for i, note in enumerate(notes):
        text = note.get("text")
        if isinstance(text, str) and text.strip():
            texts.append(TextBlock(f"Note ({note.get('source') or 'note'})", segments(text, spans[i]),
                                   f"text-note-{i}"))

    def rules_for(kind: str, coding: dict[str, Any] | None) -> str:
        code = (coding or {}).get("code")
        return "; ".join(coded.get((kind, str(code)), [])) if code else ""

    diagnoses = [(d, rules_for("diagnosis", d)) for d in clinical.get("diagnoses", []) if isinstance(d, dict)]
    observations = [(o, rules_for("observation", o.get("code"))) for o in clinical.get("observations", [])
                    if isinstance(o, dict)]

    others = _others(session, principal, ctx.sites, detail)
    referral_row = session.scalar(select(Referral).where(Referral.attendance_id == att.id))
    referral = referral_view(session, ctx, referral_row, now) if referral_row is not None else None
    nhs = next((i["value"] for i in detail.patient.identifiers if i["system"] == NHS_NUMBER_SYSTEM), None)
    address = ", ".join([*(patient.address_lines or []), *(x for x in (patient.city, patient.postcode) if x)])
    return AttendancePage(
        detail=detail, site_name=_site_name(ctx.sites, att.site_code), nhs_number=nhs,
        local_ids=[i for i in detail.patient.identifiers if i["system"] != NHS_NUMBER_SYSTEM],
        address=address or "not known", texts=texts, diagnoses=diagnoses, observations=observations,
        flags=flags,
        pending=[f for f in flags if f.decision is not None and f.decision.status == DecisionStatus.PENDING
                 and f.view.status == FlagStatus.ACTIVE],
        others=others, referral=referral,
        referral_values=values_of(referral) if referral is not None else None,
        authorities=ctx.authorities.codes, now=now)


def _others(session: Session, principal: Principal, sites: SiteRegistry,
            detail: AttendanceDetail) -> list[OtherAttendance]:
    ids = [a.id for a in detail.other_attendances]
    titles: dict[int, list[str]] = defaultdict(list)
    if ids:
        for attendance_id, title in session.execute(
                select(Flag.attendance_id, Flag.title).where(Flag.attendance_id.in_(ids),
                                                             Flag.status == FlagStatus.ACTIVE)
                .order_by(Flag.title)):
            titles[attendance_id].append(title)
    postcode = detail.patient.postcode
    return [OtherAttendance(
        view=a, site_name=_site_name(sites, a.site_code), flag_titles=titles[a.id],
        visible=attendance_refusal(principal, AttendanceRef(a.site_code, a.trust, a.source_type, postcode),
                                   sites) is None)
        for a in detail.other_attendances]
