"""The dashboard as published: tables of suppressed cells, built from `Metrics`.

Every page, chart and export is made from these tables, so what is withheld in one is withheld in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from ed_alerts.dashboard.metrics import STEPS, Metrics, Tally
from ed_alerts.dashboard.suppression import Cell, count_cell, count_cells, median_cell, share_cell
from ed_alerts.sites.registry import SiteRegistry

SOURCE_LABELS = {
    "hospital_ed": "Hospital emergency department",
    "minor_injury_unit": "Minor injury unit",
    "ambulance": "Ambulance service",
    "sexual_health": "Sexual health service",
}

# (key, heading, how to compute it from a tally): counts first, then shares.
COUNT_COLUMNS: list[tuple[str, str, Callable[[Tally], int]]] = [
    ("flags", "Flags raised", lambda t: t.flags),
    ("referrals", "Referrals", lambda t: t.referrals),
]
SHARE_COLUMNS: list[tuple[str, str, Callable[[Tally], tuple[int, int]]]] = [
    ("sent_on_time", "Referrals sent within due time", lambda t: (t.sent_on_time, t.referrals_due)),
    ("decided_on_time", "Decisions made within due time", lambda t: (t.decided_on_time, t.decisions)),
    ("words_recorded", "Decisions with the child's own words", lambda t: (t.words_recorded, t.decided)),
    ("delivered", "Sent referrals acknowledged", lambda t: (t.delivered, t.sent)),
    ("audited", "Acknowledged referrals audited", lambda t: (t.audited, t.delivered)),
    ("reviewed", "'Not referred' decisions reviewed", lambda t: (t.not_referred_reviewed, t.not_referred)),
]


@dataclass
class Row:
    key: str
    label: str
    cells: dict[str, Cell]


@dataclass
class Table:
    id: str
    title: str
    caption: str
    group_heading: str
    columns: list[tuple[str, str]]
    rows: list[Row]
    total: Row | None = None


@dataclass
class Published:
    threshold: int
    by_site: Table
    by_source: Table
    by_month: Table
    medians: Table
    flags_by_rule: Table
    overdue: Table
    headline: dict[str, Cell] = field(default_factory=dict)

    @property
    def tables(self) -> list[Table]:
        return [self.by_month, self.by_site, self.by_source, self.medians, self.flags_by_rule, self.overdue]


def _breakdown(table_id: str, title: str, caption: str, group_heading: str,
               groups: list[tuple[str, str, Tally]], total: Tally, threshold: int) -> Table:
    columns = [(k, h) for k, h, _ in COUNT_COLUMNS] + [(k, h) for k, h, _ in SHARE_COLUMNS]
    rows = [Row(key, label, {}) for key, label, _ in groups]
    for key, _, count in COUNT_COLUMNS:
        for row, cell in zip(rows, count_cells([count(t) for _, _, t in groups], threshold), strict=True):
            row.cells[key] = cell
    for key, _, share in SHARE_COLUMNS:
        for row, (_, _, t) in zip(rows, groups, strict=True):
            row.cells[key] = share_cell(*share(t), threshold)
    total_row = Row("total", "All", {key: count_cell(count(total), threshold) for key, _, count in COUNT_COLUMNS})
    for key, _, share in SHARE_COLUMNS:
        total_row.cells[key] = share_cell(*share(total), threshold)
    return Table(table_id, title, caption, group_heading, columns, rows, total_row)


def month_label(month: date) -> str:
    return month.strftime("%b %Y")


def publish(metrics: Metrics, sites: SiteRegistry, threshold: int, rule_titles: dict[str, str]) -> Published:
    def site_label(code: str) -> str:
        site = sites.lookup(code)
        return f"{site.name} ({code})" if site else f"{code} (not in the site registry)"

    site_groups = [(code, site_label(code), t) for code, t in sorted(metrics.by_site.items())]
    source_groups = [(s, SOURCE_LABELS.get(s, s), t) for s, t in sorted(metrics.by_source.items())]
    month_groups = [(m.isoformat()[:7], month_label(m), t) for m, t in sorted(metrics.by_month.items())]
    period = f"{month_label(metrics.period.first)} to {month_label(metrics.period.last)}"
    by_site = _breakdown("by-site", "By site", f"Referral timeliness and completeness by site, {period}",
                         "Site", site_groups, metrics.total, threshold)
    by_source = _breakdown("by-source", "By source", f"By source of the attendance, {period}", "Source",
                           source_groups, metrics.total, threshold)
    by_month = _breakdown("by-month", "By month", f"By month of arrival, {period}", "Month", month_groups,
                          metrics.total, threshold)

    median_columns = [("median", "Median"), ("count", "Referrals measured")]
    median_rows = []
    for step, label in STEPS.items():
        values = metrics.total.hours[step]
        median_rows.append(Row(step, label, {
            "median": median_cell(values, threshold, metrics.total.median_hours(step)),
            "count": count_cell(len(values), threshold)}))
    medians = Table("medians", "Time between steps", f"Median time between steps, {period}", "Step",
                    median_columns, median_rows)

    rules = sorted(metrics.flags_by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    rule_cells = count_cells([n for _, n in rules], threshold)
    flags_by_rule = Table(
        "flags-by-rule", "Flags by rule", f"Flags raised by each rule, {period}", "Rule", [("flags", "Flags")],
        [Row(rule, rule_titles.get(rule, rule), {"flags": cell}) for (rule, _), cell in zip(rules, rule_cells,
                                                                                               strict=True)],
        Row("total", "All rules", {"flags": count_cell(sum(n for _, n in rules), threshold)}))

    overdue_sites = sorted(metrics.overdue_by_site.items())
    overdue_columns = [("total", "Overdue now"), ("decisions", "Decisions"), ("referrals", "Referrals not sent"),
                       ("failed", "Deliveries failed")]
    overdue_rows = [Row(code, site_label(code), {}) for code, _ in overdue_sites]
    for key, _ in overdue_columns:
        late = [int(getattr(o, key)) for _, o in overdue_sites]
        for row, cell in zip(overdue_rows, count_cells(late, threshold), strict=True):
            row.cells[key] = cell
    total_overdue = metrics.overdue_total
    overdue = Table("overdue", "Overdue now", "Decisions and referrals past their due time now, by site",
                    "Site", overdue_columns, overdue_rows,
                    Row("total", "All sites", {key: count_cell(getattr(total_overdue, key), threshold)
                                               for key, _ in overdue_columns}))

    headline = {
        "flags": count_cell(metrics.total.flags, threshold),
        "referrals": count_cell(metrics.total.referrals, threshold),
        "sent_on_time": share_cell(metrics.total.sent_on_time, metrics.total.referrals_due, threshold),
        "overdue": count_cell(total_overdue.total, threshold),
    }
    return Published(threshold=threshold, by_site=by_site, by_source=by_source, by_month=by_month,
                     medians=medians, flags_by_rule=flags_by_rule, overdue=overdue, headline=headline)
