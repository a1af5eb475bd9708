"""What the audit API returns."""

from __future__ import annotations

from pydantic import BaseModel


class ChainStatus(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None
    problem: str | None
