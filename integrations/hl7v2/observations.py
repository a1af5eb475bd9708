"""OBX -> canonical Observations; free-text results are also kept as notes the rules can read."""

from __future__ import annotations

from ed_alerts.domain import Coding, FreeText, Observation
from integrations.hl7v2.codes import coding_from_ce
from integrations.hl7v2.config import FeedConfig
from integrations.hl7v2.er7 import Segment

CODED_TYPES = frozenset({"CE", "CWE", "CNE", "CF"})
NUMERIC_TYPES = frozenset({"NM", "SN"})
TEXT_TYPES = frozenset({"TX", "ST", "FT"})
# Result status W (wrong, replaced) and D (deleted): acting on them could raise a false flag.
WITHDRAWN_STATUSES = frozenset({"W", "D"})


def map_obx(obx: Segment, feed: FeedConfig, notes: list[FreeText],
            warnings: list[str]) -> list[Observation] | None:
    """Observations of one OBX (one per coded repetition), or None when the OBX was withdrawn."""
    set_id = obx.get(1) or "?"
    if obx.get(11).upper() in WITHDRAWN_STATUSES:
        warnings.append(f"OBX {set_id} has result status W/D (withdrawn) and was not mapped")
        return None
    code_reps = obx.repetitions(3)
    code = coding_from_ce(obx, code_reps[0], feed) if code_reps else None
    value_type = obx.get(2).upper()
    units_rep = obx.repetitions(6)
    units = (obx.part(units_rep[0], 1) or obx.part(units_rep[0], 2) or None) if units_rep else None
    if not value_type and obx.raw(5):
        warnings.append(f"OBX {set_id} has no value type (OBX-2); its value was read as text")
        value_type = "ST"

    if value_type in CODED_TYPES:
        values = [coding_from_ce(obx, rep, feed) for rep in obx.repetitions(5)]
        answers: list[Coding | None] = [v for v in values if v is not None] or [None]
        return [Observation(code=code, value_type="coded", value_code=answer,
                            value_text=answer.display if answer else None, units=units)
                for answer in answers]
    if value_type in NUMERIC_TYPES:
        return [_numeric(obx, code, value_type, units, set_id, warnings)]
    if value_type in TEXT_TYPES:
        text = obx.text(5) or None
        if text:
            notes.append(FreeText(source=f"OBX-5 {code.code}" if code else "OBX-5", text=text))
        return [Observation(code=code, value_type="text", value_text=text, units=units)]
    # Other types (HD, DT, TS, ED...) are kept as the feed typed them, value as text.
    return [Observation(code=code, value_type=value_type, value_text=obx.text(5) or None, units=units)]


def _numeric(obx: Segment, code: Coding | None, value_type: str, units: str | None, set_id: str,
             warnings: list[str]) -> Observation:
    reps = obx.repetitions(5)
    if not reps:
        return Observation(code=code, value_type="numeric", units=units)
    if value_type == "SN":
        # comparator ^ num1 ^ separator/suffix ^ num2, e.g. ">^2" or "^1^-^3"
        comparator, first, separator, second = (obx.part(reps[0], i) for i in (1, 2, 3, 4))
        text = f"{comparator}{first}{separator}{second}"
    else:
        first = text = obx.decode(reps[0])
    try:
        number = float(first) if first else None
    except ValueError:
        warnings.append(f"OBX {set_id} is numeric but OBX-5 is not a number; kept as text only")
        number = None
    return Observation(code=code, value_type="numeric", value_number=number, value_text=text or None,
                       units=units)
