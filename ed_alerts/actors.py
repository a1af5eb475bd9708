"""Who is acting: the `get_actor` dependency every route that changes or reads a child's record uses.

The actor is the authenticated principal (ed_alerts/auth): a signed-in user, a feed's API token, or
a user of the hospital's sign-on. Routes and services depend only on the `Actor` it returns. A route
should also declare who may use it with `require(...)`; `get_actor` alone only insists on a sign-in.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ed_alerts.audit.service import Actor
from ed_alerts.auth.errors import Unauthorized
from ed_alerts.auth.policy import current_principal
from ed_alerts.auth.roles import Role
from ed_alerts.errors import Forbidden

ANONYMOUS = Actor("anonymous", "anonymous")
__all__ = ["ANONYMOUS", "Role", "get_actor", "is_named", "require_named", "require_role"]


async def get_actor(request: Request) -> Actor:
    # Authenticated once per request: the route's `require(...)` has usually done it already.
    principal = await run_in_threadpool(current_principal, request)
    if principal is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token> (POST /auth/token)")
    return principal.actor


def is_named(actor: Actor) -> bool:
    """A decision or confirmation must be attributable to a person, not to nobody or a component."""
    return actor.name != ANONYMOUS.name and actor.role not in ("anonymous", "system")


def require_named(actor: Actor, doing: str) -> None:
    if not is_named(actor):
        raise Forbidden(f"{doing} must be done by a named, signed-in user")


def require_role(actor: Actor, role: Role, doing: str) -> None:
    require_named(actor, doing)
    if actor.role != role.value:
        raise Forbidden(f"{doing} is for the {role.value.replace('_', ' ')}; "
                        f"you are signed in as {actor.role}")
