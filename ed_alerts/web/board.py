"""`/` (each role's own page), the ED board and the fragment it refreshes itself with."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ed_alerts.auth.policy import current_principal, public
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.db.base import utcnow
from ed_alerts.deps import get_services
from ed_alerts.errors import DomainError
from ed_alerts.services import Services
from ed_alerts.web.access import NursePrincipal
from ed_alerts.web.board_data import BoardRow, board_rows
from ed_alerts.web.rendering import fragment, page
from ed_alerts.web.viewing import record_list_views

router = APIRouter()
ServicesDep = Annotated[Services, Depends(get_services)]
POLL_SECONDS = 5
HOME = {Role.ED_NURSE: "board", Role.SAFEGUARDING_NURSE: "queue_page", Role.ICB_LEAD: "dashboard"}


@router.get("/", name="home", dependencies=[public()])
def home(request: Request) -> Response:
    """Public, because it only sends each person to their own page (or to sign in)."""
    try:
        principal = current_principal(request)
    except DomainError:
        principal = None  # an expired session: sign in again
    if principal is None:
        return RedirectResponse(f"{request.url_for('signin_page').path}?{urlencode({'next': '/'})}", 303)
    route = HOME.get(principal.role, "signin_page")  # integration and admin have no pages: the API is theirs
    return RedirectResponse(request.url_for(route).path, status_code=303)


def _rows(services: Services, principal: Principal) -> list[BoardRow]:
    now = utcnow()
    with services.db.session() as session:
        rows = board_rows(session, principal, services.sites, services.settings, now)
        record_list_views(session, principal.actor, [(r.attendance_id, r.patient_id) for r in rows],
                          reason="direct care: ED board", now=now)
    return rows


def _sites_label(services: Services, principal: Principal) -> str:
    if principal.role is Role.SAFEGUARDING_NURSE:
        return f"trust {principal.trust}"
    names = []
    for code in sorted(principal.sites):
        site = services.sites.lookup(code)
        names.append(site.name if site else code)
    return ", ".join(names)


@router.get("/board", name="board")
def board(request: Request, principal: NursePrincipal, services: ServicesDep) -> Response:
    rows = _rows(services, principal)
    return page(request, "board.html", {"rows": rows, "now": utcnow(), "poll_seconds": POLL_SECONDS,
                                        "scope_label": _sites_label(services, principal),
                                        "multi_site": principal.role is Role.SAFEGUARDING_NURSE
                                        or len(principal.sites) > 1,
                                        "board_hours": services.settings.board_hours},
                principal=principal)


@router.get("/board/rows", name="board_rows")
def board_fragment(request: Request, principal: NursePrincipal, services: ServicesDep) -> Response:
    rows = _rows(services, principal)
    return fragment(request, "partials/board_rows.html",
                    {"rows": rows, "now": utcnow(), "multi_site": principal.role is Role.SAFEGUARDING_NURSE
                     or len(principal.sites) > 1}, principal=principal)
