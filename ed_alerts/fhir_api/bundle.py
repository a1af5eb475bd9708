"""Searchset Bundles: the page of Flags, the total, and self / next / previous links by `_offset`.

Offsets rather than opaque page tokens: the API is stateless (any replica can answer the next page),
and the results are ordered newest first, so a flag raised while a client pages only shifts the pages
by one; a client that needs a stable set filters on `date`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from ed_alerts.fhir_api.mapping import flag_resource
from ed_alerts.fhir_api.queries import FlagPage
from ed_alerts.fhir_api.search import FlagSearch


def page_url(fhir_base: str, search: FlagSearch, offset: int) -> str:
    params = [*search.echo, ("_count", str(search.count)), ("_offset", str(offset))]
    return f"{fhir_base}/Flag?" + urlencode(params, safe=":|/,", quote_via=quote)


def _links(fhir_base: str, search: FlagSearch, total: int) -> list[dict[str, str]]:
    links = [{"relation": "self", "url": page_url(fhir_base, search, search.offset)}]
    if search.count and search.offset + search.count < total:
        links.append({"relation": "next", "url": page_url(fhir_base, search, search.offset + search.count)})
    if search.count and search.offset > 0:
        previous = max(0, min(search.offset - search.count, total - search.count))
        links.append({"relation": "previous", "url": page_url(fhir_base, search, previous)})
    return links


def searchset(fhir_base: str, search: FlagSearch, page: FlagPage) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": page.total,
        "link": _links(fhir_base, search, page.total),
    }
    if page.rows:  # FHIR JSON has no empty arrays: no matches means no `entry` at all
        bundle["entry"] = [
            {"fullUrl": f"{fhir_base}/Flag/{row.flag.id}", "resource": flag_resource(row),
             "search": {"mode": "match"}}
            for row in page.rows
        ]
    return bundle
