"""Every pair of states, driven by the transition table: allowed ones move and are audited in the same
transaction, every other pair is refused with a 409 that names what is allowed."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from ed_alerts.audit.models import AuditEntry
from ed_alerts.audit.service import Actor, verify_chain
from ed_alerts.referrals.models import Referral
from ed_alerts.referrals.transitions import (
    TRANSITIONS,
    IllegalTransition,
    ReferralState,
    check_transition,
    transition,
)
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator
from tests.referrals.factory import flagged_attendance, refer_all

ALL_PAIRS = list(itertools.product(ReferralState, ReferralState))
ALLOWED = sorted(TRANSITIONS, key=lambda p: (p[0].value, p[1].value))
REFUSED = [p for p in ALL_PAIRS if p not in TRANSITIONS]
ACTOR = Actor("sam.nurse", "ed_nurse")


def test_the_table_is_the_lifecycle_of_the_brief() -> None:
    s = ReferralState
    for path in ([s.REQUIRED, s.DRAFTED, s.SENT, s.AUDITED], [s.SENT, s.FAILED, s.SENT]):
        for frm, to in itertools.pairwise(path):
            assert (frm, to) in TRANSITIONS
    assert (s.REQUIRED, s.NOT_REQUIRED) in TRANSITIONS and (s.DRAFTED, s.NOT_REQUIRED) in TRANSITIONS
    assert not any(frm is s.AUDITED for frm, _ in TRANSITIONS), "audited is final"
    assert len(ALLOWED) + len(REFUSED) == len(ReferralState) ** 2


@pytest.mark.parametrize(("frm", "to"), REFUSED, ids=[f"{a.value}->{b.value}" for a, b in REFUSED])
def test_refused(frm: ReferralState, to: ReferralState) -> None:
    referral = Referral(id=7, state=frm.value)
    with pytest.raises(IllegalTransition) as refused:
        check_transition(referral, to)
    assert refused.value.status_code == 409
    assert refused.value.allowed == sorted(b.value for a, b in TRANSITIONS if a is frm)
    assert f"referral 7 is {frm.value}" in refused.value.reason
    assert refused.value.body()["requested"] == to.value


@pytest.mark.parametrize(("frm", "to"), ALLOWED, ids=[f"{a.value}->{b.value}" for a, b in ALLOWED])
def test_allowed_in_memory(frm: ReferralState, to: ReferralState) -> None:
    assert check_transition(Referral(id=1, state=frm.value), to) == TRANSITIONS[(frm, to)]


def _referral(services: Services, seed: int) -> int:
    return refer_all(services, flagged_attendance(services, Generator(seed=seed), kind="assault"))


def test_every_allowed_transition_is_audited_in_its_transaction(services: Services) -> None:
    referral_id = _referral(services, 501)
    for frm, to in ALLOWED:
        with services.db.session() as s:
            referral = s.get_one(Referral, referral_id)
            referral.state = frm.value  # set up the "from" state directly: this tests the table
            entry = transition(s, referral, to, ACTOR, reason="test", details={"case": f"{frm}->{to}"})
            assert entry.action == TRANSITIONS[(frm, to)]
        with services.db.session() as s:
            assert s.get_one(Referral, referral_id).state == to.value
            last = s.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
            assert last is not None
            assert (last.action, last.entity_type, last.entity_id) == (TRANSITIONS[(frm, to)], "referral",
                                                                      str(referral_id))
            assert last.details["from"] == frm.value and last.details["to"] == to.value
            assert (last.actor, last.role, last.reason) == ("sam.nurse", "ed_nurse", "test")
            assert last.patient_id is not None
    with services.db.session() as s:
        assert verify_chain(s).ok


def test_a_refused_transition_changes_nothing_and_writes_no_audit(services: Services) -> None:
    referral_id = _referral(services, 502)
    with services.db.session() as s:
        before = s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    for frm, to in REFUSED:
        with pytest.raises(IllegalTransition), services.db.session() as s:
            referral = s.get_one(Referral, referral_id)
            referral.state = frm.value
            transition(s, referral, to, ACTOR)
    with services.db.session() as s:
        # Every attempt rolled back: the state and the audit log are as they were.
        assert s.get_one(Referral, referral_id).state == ReferralState.REQUIRED.value
        assert s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) == before
