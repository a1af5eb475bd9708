"""CP-IS plans as rule-pack observations, without a database: what each plan becomes, and that the
`known_to_social_care` rule reads them with evidence that names CP-IS."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ed_alerts import domain
from ed_alerts.evaluation import EvaluationContext, evaluate, load_pack
from ed_alerts.social_care.observations import CPIS_ORIGIN, plan_observations
from integrations.cpis.result import CpisPlan, PlanType

RULES = Path(__file__).resolve().parents[2] / "rules"
TODAY = date(2026, 11, 26)


def plan(kind: PlanType, start: date | None = date(2026, 1, 5), end: date | None = date(2027, 1, 4)
         ) -> CpisPlan:
    return CpisPlan(plan_type=kind, start=start, end=end,
                    local_authority="Exampleshire County Council (fake)",
                    emergency_phone="01632 960001", office_phone="01632 960002")


@pytest.mark.parametrize("kind, code", [
    (PlanType.CHILD_PROTECTION_PLAN, "CP_PLAN"),
    (PlanType.UNBORN_CHILD_PROTECTION_PLAN, "CP_PLAN"),
    (PlanType.LOOKED_AFTER, "LOOKED_AFTER"),
    (PlanType.OTHER, "CPIS_ALERT"),
])
def test_a_current_plan_becomes_a_y_answer_from_cp_is(kind: PlanType, code: str) -> None:
    (obs,) = plan_observations([plan(kind)], TODAY)
    assert obs.code is not None and obs.code.code == code and obs.value_text == "Y"
    assert obs.origin == CPIS_ORIGIN
    assert "from 2026-01-05 to 2027-01-04" in (obs.code.display or "")
    assert "emergency duty 01632 960001, office hours 01632 960002" in (obs.code.display or "")


def test_an_ended_plan_says_known_to_social_care_and_when_it_ended() -> None:
    (obs,) = plan_observations([plan(PlanType.CHILD_PROTECTION_PLAN, end=date(2026, 8, 1))], TODAY)
    assert obs.code is not None and obs.code.code == "KNOWN_TO_CSC"
    assert "ended 2026-08-01" in (obs.code.display or "")


def test_current_plans_come_first() -> None:
    observations = plan_observations([plan(PlanType.CHILD_PROTECTION_PLAN, end=date(2026, 1, 1)),
                                      plan(PlanType.LOOKED_AFTER)], TODAY)
    assert [o.code.code for o in observations if o.code] == ["LOOKED_AFTER", "KNOWN_TO_CSC"]


def test_the_origin_is_never_stored_with_a_message() -> None:
    (obs,) = plan_observations([plan(PlanType.LOOKED_AFTER)], TODAY)
    assert "origin" not in obs.model_dump() and "origin" not in domain.Observation().model_dump()


def test_the_rule_fires_with_evidence_naming_cp_is() -> None:
    pack = load_pack(RULES)
    attendance = domain.Attendance(visit_number="V1", observations=plan_observations(
        [plan(PlanType.CHILD_PROTECTION_PLAN)], TODAY))
    ctx = EvaluationContext(patient=domain.Patient(birth_date=date(2012, 5, 1)), attendance=attendance,
                            arrival=datetime(2026, 11, 26, 10, tzinfo=UTC),
                            count_prior_attendances=lambda _: 0)
    (flag,) = [f for f in evaluate(pack, ctx) if f.rule_id == "known_to_social_care"]
    (evidence,) = flag.evidence
    assert evidence.origin == CPIS_ORIGIN and evidence.source == "observation CP_PLAN from CP-IS"
    assert flag.reason.startswith(
        "Known to children's social care: CP-IS: Subject to a child protection plan")
