"""Rendering pages and fragments: the shared layout's context (who is signed in, their navigation,
the time zone), the Jinja filters pages use, and the security headers.

`page()` renders a full page through `templates.render` (which gives forms their CSRF token);
`fragment()` renders a partial template for a script that asked for one (`X-Fragment` header).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from starlette.responses import Response

from ed_alerts.auth.policy import authenticator
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.settings import Settings
from ed_alerts.web.templates import render, templates

FRAGMENT_HEADER = "x-fragment"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    label: str
    route: str


NAV: dict[Role, list[NavItem]] = {
    Role.ED_NURSE: [NavItem("ED board", "board")],
    Role.SAFEGUARDING_NURSE: [NavItem("Safeguarding queue", "queue_page"), NavItem("ED board", "board"),
                              NavItem("Audit chain", "audit_chain_page")],
    Role.ICB_LEAD: [NavItem("Dashboard", "dashboard"), NavItem("Audit chain", "audit_chain_page")],
}


def settings_of(request: Request) -> Settings:
    return authenticator(request).settings


def zone_of(request: Request) -> ZoneInfo:
    return ZoneInfo(settings_of(request).display_timezone)


@cache
def asset_version() -> str:
    """Changes when a static file does, so browsers never keep a stale script."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _context(request: Request, principal: Principal | None, context: dict[str, Any]) -> dict[str, Any]:
    return {"principal": principal, "nav": NAV.get(principal.role, []) if principal else [],
            "tz": zone_of(request), "asset_version": asset_version(), "current_path": request.url.path,
            **context}


def page(request: Request, name: str, context: dict[str, Any], *, principal: Principal | None,
         status_code: int = 200) -> Response:
    return render(request, settings_of(request), name, _context(request, principal, context),
                  status_code=status_code)


def fragment(request: Request, name: str, context: dict[str, Any], *, principal: Principal | None,
             status_code: int = 200) -> Response:
    """A partial template alone, for a script. It may hold a form, so it gets the CSRF token like a page."""
    return render(request, settings_of(request), name, _context(request, principal, context),
                  status_code=status_code)


# --- filters ---------------------------------------------------------------------------------------

def local_time(value: datetime | None, zone: ZoneInfo, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return "–"
    return value.astimezone(zone).strftime(fmt)


def clock(value: datetime | None, zone: ZoneInfo) -> str:
    """Today: 14:05; earlier: 3 Mar 14:05."""
    if value is None:
        return "–"
    local = value.astimezone(zone)
    today = datetime.now(zone).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%-d %b %H:%M")


def age_years(birth: date | None, on: datetime | date | None = None) -> str:
    if birth is None:
        return "age unknown"
    when = on.date() if isinstance(on, datetime) else (on or date.today())
    years = when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))
    return f"{years} y"


def nhs_number(value: str | None) -> str:
    if not value:
        return "not known"
    digits = value.replace(" ", "")
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else value


def humanise(value: str | None) -> str:
    return (value or "").replace("_", " ")


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """"in 3 h", "2 h ago": for due times."""
    if value is None:
        return ""
    now = now or datetime.now(value.tzinfo)
    seconds = (value - now).total_seconds()
    minutes = abs(seconds) / 60
    amount = f"{minutes:.0f} min" if minutes < 90 else (f"{minutes / 60:.0f} h" if minutes < 48 * 60
                                                      else f"{minutes / 1440:.0f} days")
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


def install_filters() -> None:
    env = templates().env
    env.filters.update({"local_time": local_time, "clock": clock, "age": age_years, "nhs": nhs_number,
                        "humanise": humanise, "relative": relative})
