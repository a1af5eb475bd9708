"""A small population of synthetic children with known flags, made by ingesting HL7 v2 messages.

Flags are raised "now" by the pipeline; `raised_at` is then set to fixed dates so that date searches
have known answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ed_alerts.attendances.models import Attendance
from ed_alerts.flags.models import Flag
from ed_alerts.ingest.models import ContentType, Transport
from ed_alerts.ingest.pipeline import IngestContext, ingest
from ed_alerts.synthetic import Child, Generator, Visit, adt


@dataclass
class Record:
    child: Child
    patient_id: int = 0
    attendance_ids: list[int] = field(default_factory=list)
    flag_ids: list[int] = field(default_factory=list)
    rules: dict[int, set[str]] = field(default_factory=dict)  # attendance id -> rule ids


@dataclass
class Scenario:
    repeat: Record  # group assault, then a stabbing at the other hospital: several flags, two visits
    disclosure: Record  # says they do not feel safe
    unflagged: Record  # sprained ankle
    cancelled: Record  # weapon, then the registration cancelled: flags withdrawn (inactive)
    away: Record  # lives far from the hospital: one medium-severity flag
    raised: dict[int, datetime] = field(default_factory=dict)  # attendance id -> the flags' raised_at

    @property
    def flagged(self) -> list[Record]:
        return [self.repeat, self.disclosure, self.cancelled, self.away]

    def all_flag_ids(self) -> set[int]:
        return {f for r in self.flagged for f in r.flag_ids}


RAISED = [datetime(2026, 1, 10, 9, 0, tzinfo=UTC), datetime(2026, 2, 20, 15, 30, tzinfo=UTC),
          datetime(2026, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 3, 15, 12, 0, tzinfo=UTC),
          datetime(2026, 4, 1, 8, 0, tzinfo=UTC)]


def _send(ctx: IngestContext, raw: bytes) -> list[int]:
    outcome = ingest(ctx, raw, ContentType.HL7V2, Transport.MLLP)
    assert outcome.accepted, outcome.reason
    return outcome.attendance_ids


def build(ctx: IngestContext, seed: int = 90) -> Scenario:
    now = datetime.now(UTC)
    gen = Generator(seed=seed, now=now)
    s = Scenario(repeat=Record(gen.child(age=15)), disclosure=Record(gen.child(age=13)),
                 unflagged=Record(gen.child(age=12)), cancelled=Record(gen.child(age=14)),
                 away=Record(gen.child(age=16, away=True)))

    first = Visit(child=s.repeat.child, site="RGT01", visit_number="S-R1", arrival=now - timedelta(days=21),
                  reason="Assaulted by a group of boys", diagnoses=[("Y04", "Assault by bodily force", "I10")],
                  observations=[("NM", "ASSAILANTS", "Number of assailants", "3")],
                  notes=["Pt says \"I don't feel safe going home\". Mum present."])
    s.repeat.attendance_ids += _send(ctx, adt(first, control_id="S-R1"))
    second = gen.visit(s.repeat.child, "RGT02", kind="weapon", arrival=now - timedelta(hours=1))
    s.repeat.attendance_ids += _send(ctx, adt(second, control_id="S-R2"))
    s.disclosure.attendance_ids += _send(ctx, adt(gen.visit(s.disclosure.child, "RGT01", kind="disclosure"),
                                                  control_id="S-D1"))
    s.unflagged.attendance_ids += _send(ctx, adt(gen.visit(s.unflagged.child, "RGT01", kind="plain"),
                                                 control_id="S-U1"))
    knife = gen.visit(s.cancelled.child, "RGT01", kind="weapon")
    s.cancelled.attendance_ids += _send(ctx, adt(knife, "A04", control_id="S-C1", sent=knife.arrival))
    _send(ctx, adt(knife, "A11", control_id="S-C2", sent=knife.arrival + timedelta(minutes=5)))
    s.away.attendance_ids += _send(ctx, adt(gen.visit(s.away.child, "RGT01", kind="plain"), control_id="S-A1"))

    attendance_order = [*s.repeat.attendance_ids, *s.disclosure.attendance_ids,
                        *s.cancelled.attendance_ids, *s.away.attendance_ids]
    with ctx.db.session() as session:
        for record in [s.repeat, s.disclosure, s.unflagged, s.cancelled, s.away]:
            record.patient_id = session.get_one(Attendance, record.attendance_ids[0]).patient_id
            for att_id in record.attendance_ids:
                flags = session.scalars(select(Flag).where(Flag.attendance_id == att_id)).all()
                record.rules[att_id] = {f.rule_id for f in flags}
                record.flag_ids += [f.id for f in flags]
        for att_id, when in zip(attendance_order, RAISED, strict=True):
            s.raised[att_id] = when
            for flag in session.scalars(select(Flag).where(Flag.attendance_id == att_id)):
                flag.raised_at = when
    assert all(r.flag_ids for r in s.flagged) and not s.unflagged.flag_ids
    assert s.away.rules[s.away.attendance_ids[0]] == {"far_from_home"}
    return s
