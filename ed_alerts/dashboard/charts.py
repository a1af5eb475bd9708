"""Horizontal bar charts as geometry for server-rendered SVG (templates/partials/chart.html).

No chart library: a bar is a rectangle and a label. Suppressed values draw no bar and say so, in
text, in the same place a value would be. Each chart has a title and a description for screen
readers; the tables beside it hold the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ed_alerts.dashboard.suppression import Cell
from ed_alerts.dashboard.tables import Table

WIDTH = 620
LABEL_WIDTH = 230
VALUE_WIDTH = 90
BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 10
ROW_HEIGHT = 30
BAR_HEIGHT = 20
TOP = 8
MAX_LABEL_CHARS = 26


@dataclass(frozen=True)
class Bar:
    label: str
    short_label: str
    text: str
    suppressed: bool
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    bars: list[Bar]
    height: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def value_x(self) -> int:
        return self.label_width + BAR_AREA + 10


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def bar_chart(chart_id: str, title: str, description: str, items: list[tuple[str, Cell]],
              maximum: float | None = None) -> BarChart:
    values = [c.value for _, c in items if c.value is not None]
    top = maximum if maximum is not None else max(values, default=0.0)
    bars = []
    for i, (label, cell) in enumerate(items):
        width = 0.0 if cell.value is None or top <= 0 else max(1.0, BAR_AREA * cell.value / top)
        bars.append(Bar(label=label, short_label=_short(label), text=cell.text, suppressed=cell.suppressed,
                        y=TOP + i * ROW_HEIGHT, width=round(width, 1)))
    return BarChart(chart_id, title, description, bars, height=TOP * 2 + max(1, len(items)) * ROW_HEIGHT)


def column_chart(table: Table, column: str, chart_id: str, title: str, description: str,
                 maximum: float | None = None) -> BarChart:
    return bar_chart(chart_id, title, description, [(row.label, row.cells[column]) for row in table.rows], maximum)
