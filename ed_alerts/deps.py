"""FastAPI dependencies shared by routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request

from ed_alerts.db.ids import MAX_ROW_ID
from ed_alerts.services import Services

# A record id in a URL path. Bounded so that a made-up id answers 404 or 422, never a 500 from the
# database (an integer past 2**63 - 1 overflows SQLite INTEGER and PostgreSQL bigint).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A record id: a positive whole number")]


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
