"""The dashboard as CSV: one line per published cell (table, group, measure, value), long format.

Values are exactly what the page shows after suppression ("<5", "withheld", "83%", "–"), so the
export can never say more than the page.
"""

from __future__ import annotations

import csv
import io

from ed_alerts.dashboard.tables import Published

HEADER = ["table", "group_key", "group", "measure", "value", "suppressed"]


def _safe(text: str) -> str:
    """Spreadsheets run a cell starting with = + - @ as a formula; labels come from configuration."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(published: Published, period: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for table in published.tables:
        headings = dict(table.columns)
        rows = [*table.rows, *([table.total] if table.total else [])]
        for row in rows:
            for key, heading in headings.items():
                cell = row.cells[key]
                writer.writerow([table.id, _safe(row.key), _safe(row.label), heading, cell.text,
                                 "yes" if cell.suppressed else "no"])
    writer.writerow(["meta", "", "period", "months", period, "no"])
    writer.writerow(["meta", "", "suppression", "counts below", str(published.threshold), "no"])
    return out.getvalue()
