"""What a MASH needs: the missing list names exactly the fields still empty, with readable labels."""

from __future__ import annotations

from typing import Any

import pytest

from ed_alerts.referrals.completeness import LABELS, IncompleteReferral, missing_fields
from ed_alerts.referrals.models import Referral

COMPLETE: dict[str, Any] = {
    "what_happened": "Assaulted by three older boys near the station.",
    "child_words": "\"I owe them and they said they'd find me.\"",
    "risk_factors": ["Group violence: 3 assailants"],
    "injuries": "Laceration to forearm.",
    "others_involved": "Three older boys; younger brother also approached.",
    "parents_aware": True,
    "referrer_name": "sam.nurse",
    "referrer_role": "ED staff nurse",
    "referrer_contact": "01632 960123",
    "decision_rationale": "Threats and debt: possible exploitation.",
    "local_authority_code": "CAMBS",
}


def _missing(**overrides: Any) -> list[str]:
    referral = Referral(id=1, **{**COMPLETE, **overrides})
    return [m.field for m in missing_fields(referral, authority_known=lambda code: code == "CAMBS")]


def test_a_complete_referral_misses_nothing() -> None:
    assert _missing() == []


def test_an_empty_referral_misses_everything_in_form_order() -> None:
    empty = {name: None for name in COMPLETE} | {"risk_factors": []}
    assert _missing(**empty) == [
        "what_happened", "child_words", "risk_factors", "injuries", "others_involved", "parents_aware",
        "referrer_name", "referrer_role", "referrer_contact", "decision_rationale", "local_authority_code"]


@pytest.mark.parametrize("field", ["what_happened", "child_words", "injuries", "others_involved",
                                   "referrer_contact", "decision_rationale"])
def test_blank_text_counts_as_missing(field: str) -> None:
    assert _missing(**{field: "   \n"}) == [field]


def test_risk_factors_need_one_that_is_not_blank() -> None:
    assert _missing(risk_factors=["  ", ""]) == ["risk_factors"]


def test_parents_not_told_needs_the_reason() -> None:
    assert _missing(parents_aware=False) == ["parents_not_aware_reason"]
    assert _missing(parents_aware=False, parents_not_aware_reason="Child fears for their safety.") == []
    assert _missing(parents_aware=None) == ["parents_aware"]


def test_an_unknown_local_authority_is_missing() -> None:
    assert _missing(local_authority_code="NOWHERE") == ["local_authority_code"]


def test_the_child_must_be_named() -> None:
    referral = Referral(id=1, **COMPLETE)
    assert [m.field for m in missing_fields(referral, authority_known=lambda _: True, child_named=False)] == [
        "child_name"]


def test_labels_and_the_422_body() -> None:
    referral = Referral(id=9, **{**COMPLETE, "injuries": None, "parents_aware": None})
    missing = missing_fields(referral, authority_known=lambda _: True)
    error = IncompleteReferral(9, missing)
    assert error.status_code == 422
    assert error.body()["missing"] == [
        {"field": "injuries", "label": LABELS["injuries"]},
        {"field": "parents_aware", "label": "Whether parents or carers know"},
    ]
    assert "injuries" in error.reason and "referral 9" in error.reason
