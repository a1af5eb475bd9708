"""Building a violence export for a reporting period, and recording that it was taken.

The caller owns the transaction (the request): the export is read and its audit entry written in
the same unit of work, so an export that was served is always in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ed_alerts.audit.service import Actor, record
from ed_alerts.violence_export.codes import IstvCodes
from ed_alerts.violence_export.mapping import to_row
from ed_alerts.violence_export.period import ReportingPeriod
from ed_alerts.violence_export.schemas import ViolenceExport
from ed_alerts.violence_export.selection import assault_attendances

ExportFormat = Literal["csv", "json"]


def build_export(session: Session, codes: IstvCodes, period: ReportingPeriod, zone: ZoneInfo,
                 now: datetime) -> ViolenceExport:
    start, end = period.bounds(zone)
    rows = [row for att in assault_attendances(session, start, end) if (row := to_row(att, codes, zone))]
    return ViolenceExport(reporting_period_start=period.start, reporting_period_end=period.end,
                          time_zone=zone.key, generated_at=now, assaults=rows)


def record_export(session: Session, actor: Actor, export: ViolenceExport, fmt: ExportFormat) -> None:
    """Audit the export like a read: who took which period, in what form, and how many rows left.
    No patient is named: the export identifies none."""
    start, end = export.reporting_period_start.isoformat(), export.reporting_period_end.isoformat()
    record(session, actor, "violence_export.taken", "violence_export", f"{start}/{end}",
           details={"from": start, "to": end, "format": fmt, "rows": len(export.assaults),
                    "data_set": export.data_set})
