"""Who may use each page: the web's policies, built on the auth policy mechanism (`require`).

Every route of the web app declares one of these (the access-matrix test fails on any that does
not). They answer like the API (401 without a session, 403 with the reason); the web app's error
handlers turn those into pages: the sign-in form, or the reason.

| page | who |
|---|---|
| ED board | ED nurse (own sites), safeguarding nurse (own trust) |
| attendance page, its forms | ED nurse of its site, safeguarding nurse of its trust |
| queue, reviews, audit as sent, a child's timeline | safeguarding nurse (own trust) |
| audit chain status | safeguarding nurse, ICB lead (no identifiers on it) |
| dashboard and its CSV | ICB lead (aggregates only, small numbers suppressed) |
"""

from __future__ import annotations

from typing import Annotated, Any

from ed_alerts.auth.policy import require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.auth.scopes import attendance_of, attendance_scope, patient_scope
from ed_alerts.flags.models import Decision
from ed_alerts.referrals.models import Referral

NURSES = (Role.ED_NURSE, Role.SAFEGUARDING_NURSE)


def nurse() -> Any:
    """Identifiable lists scoped in the query (the board): ED and safeguarding nurses."""
    return require(*NURSES)


def attendance_reader() -> Any:
    return require(*NURSES, scope=attendance_scope())


def decision_writer() -> Any:
    return require(*NURSES, scope=attendance_scope("decision_id", attendance_of(Decision.id, Decision.attendance_id)))


def referral_writer() -> Any:
    return require(*NURSES, scope=attendance_scope("referral_id", attendance_of(Referral.id, Referral.attendance_id)))


def safeguarding() -> Any:
    return require(Role.SAFEGUARDING_NURSE)


def safeguarding_of_referral() -> Any:
    return require(Role.SAFEGUARDING_NURSE,
                   scope=attendance_scope("referral_id", attendance_of(Referral.id, Referral.attendance_id)))


def safeguarding_of_decision() -> Any:
    return require(Role.SAFEGUARDING_NURSE,
                   scope=attendance_scope("decision_id", attendance_of(Decision.id, Decision.attendance_id)))


def safeguarding_of_child() -> Any:
    return require(Role.SAFEGUARDING_NURSE, scope=patient_scope())


def chain_reader() -> Any:
    return require(Role.SAFEGUARDING_NURSE, Role.ICB_LEAD, identifiable=False)


def icb() -> Any:
    return require(Role.ICB_LEAD, identifiable=False)


# Route signatures read better with these.
NursePrincipal = Annotated[Principal, nurse()]
AttendanceReader = Annotated[Principal, attendance_reader()]
DecisionWriter = Annotated[Principal, decision_writer()]
ReferralWriter = Annotated[Principal, referral_writer()]
Safeguarding = Annotated[Principal, safeguarding()]
SafeguardingOfReferral = Annotated[Principal, safeguarding_of_referral()]
SafeguardingOfDecision = Annotated[Principal, safeguarding_of_decision()]
SafeguardingOfChild = Annotated[Principal, safeguarding_of_child()]
ChainReader = Annotated[Principal, chain_reader()]
IcbLead = Annotated[Principal, icb()]
