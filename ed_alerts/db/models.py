"""Imports every table module so `Base.metadata` is complete (for Alembic and tests)."""

from ed_alerts.attendances.models import Attendance
from ed_alerts.audit.models import AuditEntry
from ed_alerts.db.base import Base
from ed_alerts.flags.models import Decision, Flag
from ed_alerts.ingest.models import InboundMessage
from ed_alerts.patients.models import Patient, PatientIdentifier
from ed_alerts.referrals.models import Escalation, Referral, ReferralOutbox
from ed_alerts.social_care.models import CpisLookup
from ed_alerts.users.models import ApiToken, User

__all__ = ["Attendance", "AuditEntry", "Base", "Decision", "Flag", "InboundMessage", "Patient", "PatientIdentifier",
           "Escalation", "Referral", "ReferralOutbox", "ApiToken", "User", "CpisLookup"]
