"""UK postcodes reduced to what the rules need: the outward code (district) and area membership."""

from __future__ import annotations

import re
from collections.abc import Iterable

_FULL = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})$")
_OUTWARD_ONLY = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$")
# NHS pseudo-postcodes (ZZ99 3VZ no fixed abode, ZZ99 3WZ not known, ...) say nothing about where home is.
_PSEUDO_OUTWARD = {"ZZ99"}


def outward_code(postcode: str | None) -> str | None:
    """ "cb1 2ab" -> "CB1"; a bare outward code is accepted; anything unrecognisable -> None."""
    if not postcode:
        return None
    text = re.sub(r"\s+", " ", postcode.strip().upper())
    full = _FULL.match(text)
    outward = full.group(1) if full else (text if _OUTWARD_ONLY.match(text) else None)
    if outward is None or outward in _PSEUDO_OUTWARD:
        return None
    return outward


def in_area(outward: str, area: Iterable[str]) -> bool:
    """Whether a district is in a site's area; a letters-only entry ("CB") stands for a whole area."""
    district = outward.upper()
    for entry in area:
        wanted = entry.strip().upper()
        if not wanted:
            continue
        if wanted == district:
            return True
        if wanted.isalpha() and re.match(rf"^{wanted}\d", district):
            return True
    return False
