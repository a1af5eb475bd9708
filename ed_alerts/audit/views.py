"""Auditing views of identifiable records: who looked at a child's record, and why.

Routes that show an attendance, a referral or a child's timeline take the reason from the `reason`
query parameter or the `X-Access-Reason` header ("direct care" when neither is given) and record a
`record.viewed` entry in the same transaction as the read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query
from sqlalchemy.orm import Session

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import Actor, record

DEFAULT_REASON = "direct care"
MAX_REASON_CHARS = 500


def get_access_reason(
    reason: Annotated[str | None, Query(description="why you are looking at this record",
                                        max_length=MAX_REASON_CHARS)] = None,
    x_access_reason: Annotated[str | None, Header(max_length=MAX_REASON_CHARS)] = None,
) -> str:
    given = (reason or x_access_reason or "").strip()
    return given or DEFAULT_REASON


def record_view(session: Session, actor: Actor, entity_type: str, entity_id: object, *,
                patient_id: int | None, reason: str) -> AuditEntry:
    return record(session, actor, "record.viewed", entity_type, entity_id, patient_id=patient_id,
                  reason=reason)
