"""What we accept (versions, events) and what hl7apy's reference tables say a message may contain.

hl7apy's full parse costs ~15 ms, but its per-version structure tables are cheap to read once and
cache. They tell us which segments a structure allows: the ones it does not are exactly those
hl7apy's own parser would have dropped, and we name them in warnings instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import hl7apy

from ed_alerts.domain import EventKind

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
EVENT_KINDS: dict[str, EventKind] = {
    "A01": EventKind.REGISTER,
    "A04": EventKind.REGISTER,
    "A08": EventKind.UPDATE,
    "A03": EventKind.DISCHARGE,
    "A11": EventKind.CANCEL,
    "A40": EventKind.MERGE,
}
SUPPORTED_EVENTS = tuple(EVENT_KINDS)
# The abstract message structure each trigger event uses (HL7 table 0354) from v2.3.1 on; hl7apy
# has no event -> structure table, only the structures themselves.
_STRUCTURE_FOR_EVENT = {
    "A01": "ADT_A01", "A04": "ADT_A01", "A08": "ADT_A01",
    "A03": "ADT_A03", "A11": "ADT_A09", "A40": "ADT_A39",
}


@dataclass(frozen=True, slots=True)
class Structure:
    name: str
    version: str
    allowed: frozenset[str]  # every segment id the structure may contain, at any depth
    required: tuple[str, ...]  # top-level segments that must be present


def structure_for(event: str, version: str) -> Structure:
    return _load(_STRUCTURE_FOR_EVENT[event], version)


@lru_cache(maxsize=64)
def _load(name: str, version: str) -> Structure:
    reference = hl7apy.load_library(version).get(name, "Message")
    allowed: set[str] = set()
    required: list[str] = []
    _walk(reference[1], allowed, required, top=True)
    return Structure(name=name, version=version, allowed=frozenset(allowed), required=tuple(required))


def _walk(children: tuple, allowed: set[str], required: list[str], *, top: bool) -> None:
    for child_name, child_ref, (minimum, _maximum), kind in children:
        if kind == "SEG":
            allowed.add(child_name)
            if top and minimum >= 1:
                required.append(child_name)
        elif kind == "GRP":
            _walk(child_ref[1], allowed, required, top=False)


def warm_up() -> None:
    """Load every supported structure now (about 20 ms per version) rather than on a first message."""
    for version in SUPPORTED_VERSIONS:
        for event in SUPPORTED_EVENTS:
            structure_for(event, version)
