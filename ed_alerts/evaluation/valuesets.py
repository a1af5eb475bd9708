"""Value sets (code lists) and how a received code is matched against one.

A value set is one code system's list of codes, each optionally with the words a nurse reads.
ICD-10 entries match by prefix ("Y04" matches "Y04.0") or by a range of categories
("X85-Y09" matches "X99" and "Y04.0"). SNOMED CT entries match exactly: there is no
terminology server here, so a value set lists the descendant concepts it means to include.
Local codes (a feed's own) match exactly, ignoring case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ed_alerts.domain import CodeSystem, Coding

_ICD10_CODE = r"[A-Z]\d{2}(?:\.?[0-9A-Z]{1,2})?"
_ICD10_ENTRY = re.compile(rf"^(?P<lo>{_ICD10_CODE})(?:\s*-\s*(?P<hi>{_ICD10_CODE}))?$")
_SNOMED_ID = re.compile(r"^\d{6,18}$")

# What feeds put in a coding's system, mapped to the three systems value sets use. HL7 v2 tables
# (0396) say "I10" and "SCT"; FHIR uses URIs; some feeds write the name. Anything else is local.
_SYSTEM_ALIASES: dict[str, CodeSystem] = {
    "icd10": CodeSystem.ICD10,
    "icd-10": CodeSystem.ICD10,
    "i10": CodeSystem.ICD10,
    "icd10uk": CodeSystem.ICD10,
    "icd-10-uk": CodeSystem.ICD10,
    "http://hl7.org/fhir/sid/icd-10": CodeSystem.ICD10,
    "http://hl7.org/fhir/sid/icd-10-uk": CodeSystem.ICD10,
    "snomed": CodeSystem.SNOMED,
    "snomedct": CodeSystem.SNOMED,
    "snomed ct": CodeSystem.SNOMED,
    "snomed-ct": CodeSystem.SNOMED,
    "sct": CodeSystem.SNOMED,
    "http://snomed.info/sct": CodeSystem.SNOMED,
}


def normalise_system(system: CodeSystem | str | None) -> CodeSystem:
    """The value-set system a received coding belongs to; unknown systems are a feed's local codes."""
    if system is None:
        return CodeSystem.LOCAL
    text = str(system).strip().lower()
    if text in (CodeSystem.ICD10.value, CodeSystem.SNOMED.value, CodeSystem.LOCAL.value):
        return CodeSystem(text)
    return _SYSTEM_ALIASES.get(text, CodeSystem.LOCAL)


def normalise_icd10(code: str) -> str:
    """ "y04.0" -> "Y040"; drops the dot, dagger/asterisk marks and the UK filler X ("R69X" -> "R69")."""
    text = re.sub(r"[\s.+*†\-]", "", code.upper())
    # The filler X only ever pads a three-character category to four, so strip it after position 3.
    if len(text) == 4 and text.endswith("X"):
        text = text[:3]
    return text


class ValueSetCode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1)
    display: str | None = None


class ValueSet(BaseModel):
    """One file in rules/valuesets/."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str = Field(min_length=1)
    system: CodeSystem
    source: str = Field(min_length=1, description="where the codes come from, and how sure we are")
    codes: list[ValueSetCode] = Field(min_length=1)

    @field_validator("codes", mode="before")
    @classmethod
    def _plain_strings_are_codes(cls, value: object) -> object:
        # Let authors write `- Y04` when there is nothing to say about a code.
        if isinstance(value, list):
            return [
                {"code": item} if isinstance(item, (str, int)) and not isinstance(item, bool) else item
                for item in value
            ]
        return value

    @field_validator("codes")
    @classmethod
    def _codes_are_distinct(cls, codes: list[ValueSetCode]) -> list[ValueSetCode]:
        seen: set[str] = set()
        for entry in codes:
            key = entry.code.strip().upper()
            if key in seen:
                raise ValueError(f"code {entry.code!r} is listed twice")
            seen.add(key)
        return codes

    @field_validator("codes")
    @classmethod
    def _codes_fit_the_system(cls, codes: list[ValueSetCode], info: ValidationInfo) -> list[ValueSetCode]:
        system = info.data.get("system")  # absent when `system` itself failed; that error is reported
        for index, entry in enumerate(codes):
            code = entry.code.strip()
            if system is CodeSystem.ICD10 and not _ICD10_ENTRY.match(code.upper()):
                raise ValueError(
                    f"code {index + 1} {code!r} is not an ICD-10 code or range (e.g. Y04, X99.0, X85-Y09)"
                )
            if system is CodeSystem.SNOMED and not _SNOMED_ID.match(code):
                raise ValueError(f"code {index + 1} {code!r} is not a SNOMED CT concept id (6 to 18 digits)")
        return codes

    def matcher(self) -> ValueSetMatcher:
        return ValueSetMatcher.build(self)


@dataclass(frozen=True)
class CodeMatch:
    """A received code that is in a value set, with the best words to show for it."""

    code: str
    display: str | None
    entry: str  # the value-set entry that matched, e.g. "X85-Y09"


@dataclass(frozen=True)
class _Icd10Entry:
    low: str
    high: str | None
    original: str
    display: str | None

    def contains(self, code: str) -> bool:
        if self.high is None:
            return code.startswith(self.low)
        # Compare on each bound's own length so "X85-Y09" covers every subcode of X85..Y09.
        return code[: len(self.low)] >= self.low and code[: len(self.high)] <= self.high


@dataclass(frozen=True)
class ValueSetMatcher:
    valueset: ValueSet
    icd10: tuple[_Icd10Entry, ...]
    exact: dict[str, ValueSetCode]

    @classmethod
    def build(cls, valueset: ValueSet) -> ValueSetMatcher:
        icd10: list[_Icd10Entry] = []
        exact: dict[str, ValueSetCode] = {}
        for entry in valueset.codes:
            code = entry.code.strip()
            if valueset.system is CodeSystem.ICD10:
                parsed = _ICD10_ENTRY.match(code.upper())
                assert parsed is not None  # the model validator has checked every entry
                high = parsed.group("hi")
                icd10.append(
                    _Icd10Entry(
                        normalise_icd10(parsed.group("lo")),
                        normalise_icd10(high) if high else None,
                        code,
                        entry.display,
                    )
                )
            else:
                exact[code.upper()] = entry
        # Most specific entry first, so "Y04.0 Assault by bodily force, fight" beats "Y04".
        icd10.sort(key=lambda e: (e.high is not None, -len(e.low)))
        return cls(valueset, tuple(icd10), exact)

    def match(self, coding: Coding | None) -> CodeMatch | None:
        if coding is None or not coding.code or not coding.code.strip():
            return None
        if normalise_system(coding.system) is not self.valueset.system:
            return None
        if self.valueset.system is CodeSystem.ICD10:
            normal = normalise_icd10(coding.code)
            for entry in self.icd10:
                if entry.contains(normal):
                    return CodeMatch(coding.code.strip(), coding.display or entry.display, entry.original)
            return None
        found = self.exact.get(coding.code.strip().upper())
        if found is None:
            return None
        return CodeMatch(coding.code.strip(), coding.display or found.display, found.code)
