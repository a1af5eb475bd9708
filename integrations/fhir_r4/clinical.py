"""Map FHIR Conditions and Observations to domain diagnoses, observations and free-text notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from ed_alerts.domain import CodeSystem, Coding, FreeText, Observation

from .codes import (
    IGNORED_CONDITION_VERIFICATION,
    IGNORED_OBSERVATION_STATUS,
    all_codings,
    best_coding,
    concept_text,
)


@dataclass
class ClinicalContent:
    diagnoses: list[Coding] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    notes: list[FreeText] = field(default_factory=list)

    def extend(self, other: ClinicalContent) -> None:
        for coding in other.diagnoses:
            if coding not in self.diagnoses:
                self.diagnoses.append(coding)
        self.observations.extend(other.observations)
        self.notes.extend(other.notes)


def map_condition(condition: Any) -> ClinicalContent:
    """Every coding of Condition.code is a diagnosis (a rule may know the SNOMED or the ICD-10 one)."""
    if _codes(condition.verificationStatus) & IGNORED_CONDITION_VERIFICATION:
        return ClinicalContent()
    content = ClinicalContent(diagnoses=all_codings(condition.code))
    text = (condition.code.text or "").strip() if condition.code is not None else ""
    # Code text that only repeats a display adds nothing; anything else may be the clinician's words.
    displays = {(c.display or "").casefold() for c in content.diagnoses}
    if text and text.casefold() not in displays:
        content.notes.append(FreeText(source="Condition.code.text", text=text))
    content.notes.extend(_annotations(condition.note, "Condition.note"))
    return content


def map_observation(observation: Any) -> ClinicalContent:
    """The Observation and each of its components as domain observations; string values also as notes."""
    if observation.status in IGNORED_OBSERVATION_STATUS:
        return ClinicalContent()
    content = ClinicalContent()
    components = observation.component or []
    # A panel with no value of its own says nothing beyond its components.
    if not components or _has_value(observation):
        _add_observation(content, observation.code, observation)
    for component in components:
        _add_observation(content, component.code, component)
    content.notes.extend(_annotations(observation.note, "Observation.note"))
    return content


def _add_observation(content: ClinicalContent, code_concept: Any, holder: Any) -> None:
    code = _observation_code(code_concept)
    observation = Observation(code=code, **_value_fields(holder))
    content.observations.append(observation)
    if holder.valueString is not None and holder.valueString.strip():
        label = code.code if code is not None else "(no code)"
        content.notes.append(FreeText(source=f"Observation {label}", text=holder.valueString.strip()))


def _observation_code(concept: Any) -> Coding | None:
    coding = best_coding(concept)
    if coding is not None:
        return coding
    text = concept_text(concept)
    # An uncoded question ("Number of assailants") is the feed's own code: per-feed maps translate it.
    return Coding(system=CodeSystem.LOCAL, code=text, display=text) if text else None


def _value_fields(holder: Any) -> dict[str, Any]:
    if holder.valueCodeableConcept is not None:
        return {"value_type": "coded", "value_code": best_coding(holder.valueCodeableConcept),
                "value_text": concept_text(holder.valueCodeableConcept)}
    if holder.valueQuantity is not None:
        quantity = holder.valueQuantity
        number = float(quantity.value) if quantity.value is not None else None
        return {"value_type": "numeric", "value_number": number, "units": quantity.unit or quantity.code}
    if holder.valueInteger is not None:
        return {"value_type": "numeric", "value_number": float(holder.valueInteger)}
    if holder.valueString is not None:
        return {"value_type": "text", "value_text": holder.valueString.strip()}
    if holder.valueBoolean is not None:
        return {"value_type": "boolean", "value_text": "true" if holder.valueBoolean else "false"}
    if holder.valueDateTime is not None:
        return {"value_type": "datetime", "value_text": _iso(holder.valueDateTime)}
    if holder.valueTime is not None:
        return {"value_type": "time", "value_text": _iso(holder.valueTime)}
    for name in ("valuePeriod", "valueRange", "valueRatio", "valueSampledData"):
        if getattr(holder, name) is not None:
            return {"value_type": name.removeprefix("value").lower()}
    return {"value_type": "absent", "value_text": concept_text(holder.dataAbsentReason)}


def _has_value(holder: Any) -> bool:
    return _value_fields(holder)["value_type"] != "absent"


def _annotations(notes: list[Any] | None, source: str) -> list[FreeText]:
    return [FreeText(source=source, text=n.text.strip()) for n in notes or [] if n.text and n.text.strip()]


def _codes(concept: Any) -> set[str]:
    return {c.code for c in (concept.coding or []) if c.code} if concept is not None else set()


def _iso(value: datetime | date | time | str) -> str:
    return value if isinstance(value, str) else value.isoformat()
