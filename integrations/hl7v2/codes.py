"""CE/CWE coded values -> canonical Codings, with the feed's local code map applied."""

from __future__ import annotations

from ed_alerts.domain import CodeSystem, Coding
from integrations.hl7v2.config import FeedConfig
from integrations.hl7v2.er7 import Segment

_ICD10 = {"I10", "ICD10", "ICD10UK", "I10UK"}
_SNOMED = {"SCT", "SNOMED", "SNOMEDCT", "SNM", "SNM3", "SCTID", "HTTP://SNOMED.INFO/SCT"}


def code_system(name: str) -> CodeSystem:
    """HL7 table 0396 names (and the spellings feeds actually use) -> our code systems."""
    key = name.strip().upper().replace("-", "").replace("_", "").replace(" ", "")
    if key in _ICD10:
        return CodeSystem.ICD10
    if key in _SNOMED:
        return CodeSystem.SNOMED
    return CodeSystem.LOCAL


def mapped_system(name: str) -> CodeSystem | str:
    """A system named in FeedConfig.local_codes: ours if recognised, else kept as written."""
    system = code_system(name)
    return system if system is not CodeSystem.LOCAL or name.strip().lower() == "local" else name.strip()


def coding_from_ce(segment: Segment, raw: str, feed: FeedConfig) -> Coding | None:
    """One CE/CWE/CNE repetition -> Coding. Prefers a standard code, then the feed map, then local.

    CWE carries an alternate code (components 4-6): a feed's local code often travels with the
    ICD-10 or SNOMED code in those, and that is the one rules can use.
    """
    code, display, system_name = (segment.part(raw, i) for i in (1, 2, 3))
    alt_code, alt_display, alt_system_name = (segment.part(raw, i) for i in (4, 5, 6))
    display = display or alt_display or None
    if code:
        system = code_system(system_name)
        if system is not CodeSystem.LOCAL:
            return Coding(system=system, code=code, display=display)
        if code in feed.local_codes:
            target_system, target_code = feed.local_codes[code]
            return Coding(system=mapped_system(target_system), code=target_code, display=display)
    if alt_code and code_system(alt_system_name) is not CodeSystem.LOCAL:
        return Coding(system=code_system(alt_system_name), code=alt_code, display=alt_display or display)
    if code:
        return Coding(system=CodeSystem.LOCAL, code=code, display=display)
    if alt_code:
        return Coding(system=CodeSystem.LOCAL, code=alt_code, display=display)
    return None
