"""The export as CSV (one line per assault, the period repeated on each) and as JSON (the model).

Both are written from `ViolenceExport` alone, so neither can carry more than the row model holds.
"""

from __future__ import annotations

import csv
import io

from ed_alerts.violence_export.schemas import AssaultRow, ViolenceExport

ROW_FIELDS: tuple[str, ...] = tuple(AssaultRow.model_fields)
CSV_HEADER: tuple[str, ...] = ("reporting_period_start", "reporting_period_end", *ROW_FIELDS)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell starting with = + - @ as a formula; a site code comes from a feed.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(export: ViolenceExport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    period = (export.reporting_period_start.isoformat(), export.reporting_period_end.isoformat())
    for row in export.assaults:
        values = row.model_dump(mode="json")
        writer.writerow([*period, *(_cell(values[name]) for name in ROW_FIELDS)])
    return out.getvalue()


def to_json(export: ViolenceExport) -> str:
    return export.model_dump_json(indent=2)
