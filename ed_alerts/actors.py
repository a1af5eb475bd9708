"""Who is acting: the `get_actor` dependency every route that changes or reads a child's record uses.

For now the acting user comes from the `X-User` and `X-Role` headers (anonymous when absent). The
authentication work replaces the body of `get_actor` with the signed-in user; routes and services
depend only on the `Actor` it returns, so nothing else has to change.
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import Request

from ed_alerts.audit.service import Actor
from ed_alerts.errors import Forbidden

ANONYMOUS = Actor("anonymous", "anonymous")


class Role(StrEnum):
    """Roles named in DESIGN.md section 8, as the referral workflow checks them."""

    ED_NURSE = "ed_nurse"
    SAFEGUARDING_NURSE = "safeguarding_nurse"
    ICB_LEAD = "icb_lead"
    INTEGRATION = "integration"


def get_actor(request: Request) -> Actor:
    name = (request.headers.get("x-user") or "").strip()
    role = (request.headers.get("x-role") or "").strip()
    if not name:
        return ANONYMOUS
    return Actor(name=name[:200], role=(role or "anonymous")[:40])


def is_named(actor: Actor) -> bool:
    """A decision or confirmation must be attributable to a person, not to nobody or a component."""
    return actor.name != ANONYMOUS.name and actor.role not in ("anonymous", "system")


def require_named(actor: Actor, doing: str) -> None:
    if not is_named(actor):
        raise Forbidden(f"{doing} must be done by a named user (give X-User and X-Role)")


def require_role(actor: Actor, role: Role, doing: str) -> None:
    require_named(actor, doing)
    if actor.role != role.value:
        raise Forbidden(f"{doing} is for the {role.value.replace('_', ' ')}; you are signed in as {actor.role}")
