"""The ICB lead's dashboard and its CSV export: aggregates only, small numbers suppressed.

The numbers come from ed_alerts/dashboard (no HTTP there); this module reads the period from the
query, and renders. No page or export here carries a name, NHS number, date of birth, address or
free text: the aggregation never selects them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ed_alerts.dashboard.charts import bar_chart, column_chart
from ed_alerts.dashboard.export import to_csv
from ed_alerts.dashboard.metrics import Period, add_months, compute, default_period, parse_month
from ed_alerts.dashboard.tables import Published, month_label, publish
from ed_alerts.db.base import utcnow
from ed_alerts.deps import get_services
from ed_alerts.services import Services
from ed_alerts.web.access import IcbLead
from ed_alerts.web.rendering import page
from ed_alerts.web.templates import SECURITY_HEADERS

router = APIRouter()
ServicesDep = Annotated[Services, Depends(get_services)]
MAX_MONTHS = 36


def period_of(services: Services, start: str | None, end: str | None) -> Period:
    default = default_period(services.settings, utcnow())
    first = parse_month(start) or default.first
    last = parse_month(end) or (default.last if parse_month(start) is None else max(first, default.last))
    if last < first:
        first, last = last, first
    first = max(first, add_months(last, -(MAX_MONTHS - 1)))
    return Period(first, last)


def _published(services: Services, period: Period) -> Published:
    with services.db.session() as session:
        metrics = compute(session, services.settings, period, utcnow())
    titles = {rule.id: rule.title for rule in services.pack.rules}
    return publish(metrics, services.sites, services.settings.small_number_threshold, titles)


def _period_text(period: Period) -> str:
    return f"{month_label(period.first)} to {month_label(period.last)}"


@router.get("/dashboard", name="dashboard")
def dashboard(request: Request, principal: IcbLead, services: ServicesDep, start: str | None = None,
              end: str | None = None) -> Response:
    period = period_of(services, start, end)
    published = _published(services, period)
    threshold = published.threshold
    charts = [
        column_chart(published.by_month, "sent_on_time", "chart-on-time",
                     "Referrals sent within their due time, by month",
                     "Share of referrals due in each month that were sent by their due time. "
                     f"Months with fewer than {threshold} referrals, or fewer than {threshold} late or on "
                     "time, are withheld.", maximum=100.0),
        bar_chart("chart-medians", "Median time between steps",
                  "Median time from arrival to decision, decision to sending, sending to the local "
                  "authority's acknowledgement, and acknowledgement to audit.",
                  [(row.label, row.cells["median"]) for row in published.medians.rows]),
        column_chart(published.flags_by_rule, "flags", "chart-rules", "Flags by rule",
                     "How many flags each rule raised in the period."),
        column_chart(published.overdue, "total", "chart-overdue", "Overdue now, by site",
                     "Decisions and referrals past their due time, and failed deliveries, at this moment."),
    ]
    return page(request, "dashboard.html", {
        "published": published, "charts": charts, "period": period, "period_text": _period_text(period),
        "start": period.first.isoformat()[:7], "end": period.last.isoformat()[:7], "now": utcnow(),
    }, principal=principal)


@router.get("/dashboard.csv", name="dashboard_csv")
def dashboard_csv(principal: IcbLead, services: ServicesDep, start: str | None = None,
                  end: str | None = None) -> Response:
    period = period_of(services, start, end)
    body = to_csv(_published(services, period), _period_text(period))
    filename = f"ed-alerts-dashboard-{period.first.isoformat()[:7]}-to-{period.last.isoformat()[:7]}.csv"
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
