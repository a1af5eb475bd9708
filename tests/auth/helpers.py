"""Helpers for the auth tests: the CSRF token of a page, a synthetic ADT message per site."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ed_alerts.synthetic import Generator, adt

HL7_TYPE = {"content-type": "x-application/hl7-v2+er7"}


def csrf_from_page(client: TestClient, path: str = "/signin") -> str:
    """GET a page (which sets the CSRF cookie in the client) and read its form's token."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert match, f"no CSRF field in {path}"
    return match.group(1)


def adt_for(site: str, control_id: str, *, seed: int = 7, postcode: str | None = None, kind: str = "assault") -> bytes:
    gen = Generator(seed=seed)
    child = gen.child()
    if postcode is not None:
        child.postcode = postcode
    return adt(gen.visit(child, site, kind=kind), control_id=control_id)
