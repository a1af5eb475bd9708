"""GET /api/violence-export: the ISB 1594 violence data for the community safety partnership.

For the ICB lead only, like the dashboard: it carries no identifier (declared identifiable=False).
Thin: checks the period, builds the export in one unit of work with its audit entry, renders.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ed_alerts.auth.policy import require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.db.base import utcnow
from ed_alerts.deps import get_services
from ed_alerts.openapi import errors
from ed_alerts.services import Services
from ed_alerts.violence_export.codes import IstvCodes
from ed_alerts.violence_export.period import MAX_DAYS, ReportingPeriod
from ed_alerts.violence_export.serialise import to_csv, to_json
from ed_alerts.violence_export.service import ExportFormat, build_export, record_export

router = APIRouter(prefix="/api", tags=["violence export"])

ServicesDep = Annotated[Services, Depends(get_services)]
IcbLead = Annotated[Principal, require(Role.ICB_LEAD, identifiable=False)]


@router.get("/violence-export", summary="Assault attendances as the ISB 1594 violence data set (no identifiers)",
            response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/json": {}},
                             "description": "one row per assault attendance; docs/violence-export.md"},
                       **errors(422)})  # a period the rules refuse (ReportingPeriod.checked)
def violence_export(
    principal: IcbLead,
    services: ServicesDep,
    start: Annotated[date, Query(alias="from", description="first day, YYYY-MM-DD (local)")],
    end: Annotated[date, Query(alias="to", description=f"last day, inclusive; at most {MAX_DAYS} days")],
    fmt: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    period = ReportingPeriod.checked(start, end)
    codes = IstvCodes.load(services.pack)
    zone = ZoneInfo(services.settings.display_timezone)
    with services.db.session() as session:
        export = build_export(session, codes, period, zone, utcnow())
        record_export(session, principal.actor, export, fmt)
    name = f"istv-assaults-{period.start.isoformat()}-to-{period.end.isoformat()}.{fmt}"
    headers = {"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "json":
        return Response(to_json(export), media_type="application/json", headers=headers)
    return Response(to_csv(export), media_type="text/csv; charset=utf-8", headers=headers)
