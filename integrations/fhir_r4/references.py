"""Find the resource a FHIR reference points at inside one message: Bundle entries and contained resources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TYPE_AND_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_HISTORY = re.compile(r"/_history/[^/]+$")


@dataclass(eq=False)
class Entry:
    """One resource of the message and where it sits.

    `model` is the validated R4B model for the types we map and None for the rest. `container` is set
    for contained resources, which only their container may reference (as "#id").
    """

    resource_type: str
    path: str  # FHIRPath of the resource, e.g. "Bundle.entry[3].resource" or "Encounter.contained[0]"
    id: str | None = None
    full_url: str | None = None
    model: Any | None = None
    container: Entry | None = None
    contained: list[Entry] = field(default_factory=list)


def contained_entries(container: Entry) -> list[Entry]:
    """Entries for the contained resources of a mapped (already validated) resource."""
    items = getattr(container.model, "contained", None) or []
    return [
        Entry(resource_type=item.get_resource_type(), path=f"{container.path}.contained[{i}]", id=item.id,
              model=item, container=container)
        for i, item in enumerate(items)
    ]


class ResourceIndex:
    """Resolves literal references the way a FHIR Bundle defines them.

    Looks up, in order: "#id" in the referring resource's container; an exact fullUrl (urn:uuid and
    absolute URLs); a relative "Type/id" against the base of the referring entry's fullUrl; and
    finally any entry with that type and id (for bundles whose fullUrls are missing or urn:uuid).
    """

    def __init__(self, entries: list[Entry]) -> None:
        self._by_url: dict[str, Entry] = {}
        self._by_type_id: dict[tuple[str, str], Entry] = {}
        for entry in entries:
            if entry.full_url:
                self._by_url.setdefault(entry.full_url, entry)
            if entry.id:
                self._by_type_id.setdefault((entry.resource_type, entry.id), entry)

    def resolve(self, reference: str | None, *, source: Entry) -> Entry | None:
        if not reference:
            return None
        reference = reference.strip()
        if reference.startswith("#"):
            return _find_contained(reference[1:], source)
        if reference in self._by_url:
            return self._by_url[reference]
        bare = _HISTORY.sub("", reference)
        if bare in self._by_url:
            return self._by_url[bare]
        base = _service_base(_outermost(source).full_url)
        if base and "://" not in bare and f"{base}{bare}" in self._by_url:
            return self._by_url[f"{base}{bare}"]
        match = _TYPE_AND_ID.search(bare)
        if match:
            return self._by_type_id.get((match.group(1), match.group(2)))
        return None


def _find_contained(local_id: str, source: Entry) -> Entry | None:
    container = _outermost(source)
    for entry in container.contained:
        if entry.id == local_id:
            return entry
    return None


def _outermost(entry: Entry) -> Entry:
    return entry.container if entry.container is not None else entry


def _service_base(full_url: str | None) -> str | None:
    """"https://x/fhir/Encounter/1" -> "https://x/fhir/"; None for urn:uuid and other non-RESTful URLs."""
    if not full_url or "://" not in full_url:
        return None
    match = _TYPE_AND_ID.search(_HISTORY.sub("", full_url))
    if not match:
        return None
    return full_url[: match.start(1)]
