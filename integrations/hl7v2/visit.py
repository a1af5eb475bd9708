"""PV1, PV2, DG1 and NTE -> the canonical Attendance (observations are added by the caller)."""

from __future__ import annotations

from ed_alerts.domain import Attendance, Coding, FreeText
from integrations.hl7v2.codes import coding_from_ce
from integrations.hl7v2.config import FeedConfig
from integrations.hl7v2.er7 import Segment
from integrations.hl7v2.fields import ts_field


def map_attendance(pv1: Segment | None, pv2: Segment | None, feed: FeedConfig) -> Attendance:
    attendance = Attendance()
    if pv1 is not None:
        attendance.patient_class = pv1.get(2) or None
        attendance.visit_number = pv1.get(19) or None
        attendance.arrival_time = ts_field(pv1, 44, "admit date/time")
        attendance.discharge_time = ts_field(pv1, 45, "discharge date/time")
    if pv2 is not None:
        reps = pv2.repetitions(3)
        if reps:
            code, text = pv2.part(reps[0], 1), pv2.part(reps[0], 2)
            attendance.reason = text or code or None
            # A lone first component is free text typed into a coded field, not a code.
            if code and (text or pv2.part(reps[0], 3)):
                attendance.reason_code = coding_from_ce(pv2, reps[0], feed)
    return attendance


def map_diagnosis(dg1: Segment, feed: FeedConfig, notes: list[FreeText]) -> Coding | None:
    """DG1-3, with DG1-2 (the v2.3 coding method) as the coding system when DG1-3 has none."""
    reps = dg1.repetitions(3)
    description = dg1.text(4)
    coding = None
    if reps:
        raw = reps[0]
        if not dg1.part(raw, 3) and dg1.get(2):
            raw = _with_system(dg1, raw, dg1.raw(2))
        coding = coding_from_ce(dg1, raw, feed)
    if coding is None:
        if description:  # a diagnosis sent only as words is still what the clinician recorded
            notes.append(FreeText(source="DG1-4", text=description))
        return None
    if not coding.display and description:
        coding = coding.model_copy(update={"display": description})
    return coding


def map_note(nte: Segment) -> FreeText | None:
    text = nte.text(3)
    return FreeText(source="NTE", text=text) if text else None


def _with_system(segment: Segment, raw: str, system: str) -> str:
    comps = segment.components(raw)
    comps += [""] * (3 - len(comps))
    comps[2] = system
    return segment.delims.component.join(comps)
