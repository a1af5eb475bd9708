"""What the decision, referral, queue and escalation APIs accept and return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ed_alerts.referrals.completeness import MissingField


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionInput(_Input):
    outcome: Literal["refer", "not_refer"]
    rationale: str | None = Field(default=None, max_length=10_000,
                                  description="why; mandatory for not_refer")
    child_words: str | None = Field(default=None, max_length=10_000,
                                    description="the child's own words, verbatim, where the nurse has them")


class DecisionReviewInput(_Input):
    comment: str | None = Field(default=None, max_length=10_000)
    refer: bool = Field(default=False, description="the reviewer disagrees: a referral is needed after all")


class ReferralUpdate(_Input):
    """Any subset of the draft's fields; omitted fields are left as they are."""

    local_authority_code: str | None = Field(default=None, max_length=64)
    what_happened: str | None = Field(default=None, max_length=20_000)
    child_words: str | None = Field(default=None, max_length=20_000)
    risk_factors: list[str] | None = Field(default=None, max_length=100)
    injuries: str | None = Field(default=None, max_length=20_000)
    others_involved: str | None = Field(default=None, max_length=20_000)
    parents_aware: bool | None = None
    parents_not_aware_reason: str | None = Field(default=None, max_length=10_000)
    referrer_name: str | None = Field(default=None, max_length=200)
    referrer_role: str | None = Field(default=None, max_length=200)
    referrer_contact: str | None = Field(default=None, max_length=200)
    decision_rationale: str | None = Field(default=None, max_length=10_000)


class NotRequiredInput(_Input):
    rationale: str = Field(max_length=10_000)


class CommentInput(_Input):
    comment: str | None = Field(default=None, max_length=10_000)


class DecisionView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    flag_id: int
    attendance_id: int
    status: str
    due_at: datetime | None
    created_at: datetime
    decided_by: str | None
    decided_role: str | None
    decided_at: datetime | None
    rationale: str | None
    child_words: str | None
    referral_id: int | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None


class FlagRef(BaseModel):
    id: int
    rule_id: str
    rule_version: str
    title: str
    severity: str
    reason: str


class DeliveryAttempt(BaseModel):
    at: datetime
    attempt: int | None
    outcome: str | None
    cause: str | None
    http_status: int | None


class ReferralView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    attendance_id: int
    patient_id: int
    site_code: str
    trust: str
    state: str
    severity: str
    due_at: datetime | None
    overdue: bool = False
    created_at: datetime
    created_by: str
    updated_at: datetime
    local_authority_code: str | None
    what_happened: str | None
    child_words: str | None
    risk_factors: list[str]
    injuries: str | None
    others_involved: str | None
    parents_aware: bool | None
    parents_not_aware_reason: str | None
    referrer_name: str | None
    referrer_role: str | None
    referrer_contact: str | None
    decision_rationale: str | None
    not_required_rationale: str | None
    not_required_by: str | None
    not_required_at: datetime | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str | None
    sent_by: str | None
    sent_at: datetime | None
    delivery_status: str | None
    delivery_attempts: int
    delivery_reference: str | None
    delivered_at: datetime | None
    last_delivery_error: str | None
    audited_by: str | None
    audited_at: datetime | None
    audit_comment: str | None
    idempotency_key: str
    missing: list[MissingField] = Field(default_factory=list)
    allowed_transitions: list[str] = Field(default_factory=list)
    flags: list[FlagRef] = Field(default_factory=list)
    decisions: list[DecisionView] = Field(default_factory=list)
    attempts: list[DeliveryAttempt] = Field(default_factory=list)


class EscalationView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    entity_type: str
    entity_id: int
    referral_id: int | None
    decision_id: int | None
    attendance_id: int
    site_code: str
    severity: str
    due_at: datetime | None
    escalated_at: datetime
    detail: str
    notified_at: datetime | None


class QueueItem(BaseModel):
    kind: Literal["decision", "referral"]
    id: int
    state: str
    attendance_id: int
    patient_id: int
    site_code: str
    severity: str
    rule_ids: list[str]
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    escalated: bool
    delivery_status: str | None = None


class QueueView(BaseModel):
    generated_at: datetime
    counts: dict[str, dict[str, int]]
    items: list[QueueItem]
    escalations: list[EscalationView]
