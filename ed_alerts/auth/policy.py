"""Who may use a route, declared on the route and enforced there: `require(...)` and `public()`.

    @router.get("/api/x/{attendance_id}")
    def x(principal: Annotated[Principal, require(Role.ED_NURSE, scope=attendance_scope())]) -> ...

or, when the route does not need the principal, `dependencies=[require(Role.ADMIN)]`. A router may
declare one for all its routes (`APIRouter(dependencies=[...])`). The dependency carries its `Policy`,
so `policy_of(route)` reads it back: the access test uses that to fail any route without one.

Answers: 401 without valid credentials (with WWW-Authenticate), 403 with a reason for a role or scope
that does not fit, and for a cookie-authenticated change without its CSRF token.
Identifiable routes (the default) can never be granted to an ICB lead: `require` refuses at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover
    iter_route_contexts = None  # type: ignore[assignment]
from starlette.routing import BaseRoute, Mount, Route

from ed_alerts.auth import csrf
from ed_alerts.auth.errors import Forbidden, Unauthorized
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.deps import get_services

if TYPE_CHECKING:
    from ed_alerts.auth.authenticate import Authenticator
    from ed_alerts.services import Services

POLICY_ATTR = "__ed_alerts_policy__"
# Declares the bearer scheme in the OpenAPI document, so /docs can sign in; it never refuses itself.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

ScopeCheck = Callable[[Principal, Request, "Services"], "str | None"]


@dataclass(frozen=True)
class Scope:
    """A check beyond the role: returns None to allow, or the reason to refuse (403)."""

    name: str
    check: ScopeCheck


@dataclass(frozen=True)
class Policy:
    roles: frozenset[Role] | None  # None: public, no sign-in
    scope: str | None = None
    identifiable: bool = True  # the route returns or changes something that identifies a child

    @property
    def public(self) -> bool:
        return self.roles is None

    def describe(self) -> str:
        if self.roles is None:
            return "public"
        who = ", ".join(sorted(r.value for r in self.roles))
        return who + (f" (scope: {self.scope})" if self.scope else "")


PUBLIC = Policy(roles=None, identifiable=False)


def require(*roles: Role, scope: Scope | None = None, identifiable: bool = True) -> Any:
    """A dependency that authenticates, checks role then scope, and returns the Principal."""
    if not roles:
        raise ValueError("require() needs at least one role; use public() for open routes")
    if identifiable and Role.ICB_LEAD in roles:
        raise ValueError("an ICB lead sees aggregates only: declare identifiable=False, or leave icb_lead out")
    policy = Policy(roles=frozenset(roles), scope=scope.name if scope else None, identifiable=identifiable)

    async def dependency(request: Request, _token: Annotated[str | None, Depends(bearer_scheme)]) -> Principal:
        principal = await run_in_threadpool(_authorise, request, policy, scope)
        if principal.via == "session" and request.method not in csrf.SAFE_METHODS:
            await csrf.check_request(request, authenticator(request).settings)
        return principal

    setattr(dependency, POLICY_ATTR, policy)
    return Depends(dependency)


def signed_in() -> Any:
    """Any role: for what concerns the caller alone (who am I)."""
    return require(*Role, identifiable=False)


def public() -> Any:
    """Declares a route open to everyone, so that being open is a decision, not an omission."""

    def dependency() -> None:
        return None

    setattr(dependency, POLICY_ATTR, PUBLIC)
    return Depends(dependency)


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


def current_principal(request: Request) -> Principal | None:
    """The request's principal, authenticated once per request; None without credentials."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    principal = authenticator(request).authenticate(request, get_services(request).db)
    request.state.principal = principal
    return principal


def _authorise(request: Request, policy: Policy, scope: Scope | None) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token> (POST /auth/token)")
    assert policy.roles is not None
    if principal.role not in policy.roles:
        if principal.role is Role.ICB_LEAD and policy.identifiable:
            raise Forbidden("an ICB lead sees aggregates only; this identifies children")
        allowed = ", ".join(sorted(r.value for r in policy.roles))
        raise Forbidden(f"a {principal.role.value} may not use this; it is for: {allowed}")
    if scope is not None:
        reason = scope.check(principal, request, get_services(request))
        if reason is not None:
            raise Forbidden(reason)
    return principal


# --- reading policies back (the access test, the OpenAPI document) -----------------------------

# Routes the framework adds: the API description is not secret.
FRAMEWORK_ROUTES: dict[str, Policy] = {"/openapi.json": PUBLIC, "/docs": PUBLIC,
                                       "/docs/oauth2-redirect": PUBLIC, "/redoc": PUBLIC}


def declare(app: FastAPI, path: str, policy: Policy) -> None:
    """For what cannot carry a dependency (a static files mount): its policy, by path."""
    app.state.__dict__.setdefault("_ed_alerts_policies", {})[path] = policy


def policy_of(route: Any) -> Policy | None:
    """The policy declared by a route's dependencies (its routers' included); None if none.

    `route` is an APIRoute or a FastAPI route context (whose dependant includes router dependencies).
    """
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    found = {getattr(d.call, POLICY_ATTR) for d in _walk(dependant) if hasattr(d.call, POLICY_ATTR)}
    if len(found) > 1:
        raise ValueError(f"route {route.path} declares more than one policy: {found}")
    return found.pop() if found else None


def _walk(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep
        yield from _walk(dep)


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    policy: Policy | None
    route: BaseRoute


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    """Every method and path the app answers, with its declared policy (None: undeclared)."""
    declared: dict[str, Policy] = app.state.__dict__.get("_ed_alerts_policies", {})
    yield from _iter(app.routes, "", declared)


def _flatten(routes: list[BaseRoute]) -> Iterator[Any]:
    """Routes as served: FastAPI (0.135+) keeps included routers lazily; its route contexts carry
    each route's effective path and dependencies, the including routers' too."""
    if iter_route_contexts is None:  # pragma: no cover - older FastAPI flattens routes when including
        yield from routes
        return
    yield from iter_route_contexts(routes)


def _iter(routes: list[BaseRoute], prefix: str, declared: dict[str, Policy]) -> Iterator[RouteInfo]:
    for route in _flatten(routes):
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute):
            for method in sorted(route.methods or ()):
                yield RouteInfo(method, prefix + route.path, policy_of(route), original)
        elif isinstance(original, Mount):
            path = prefix + original.path
            if original.routes:  # a mounted app or router: its own routes, under the mount's path
                yield from _iter(list(original.routes), path, declared)
            else:
                yield RouteInfo("*", path, declared.get(path), original)
        elif isinstance(original, Route):
            path = prefix + original.path
            policy = declared.get(path) or FRAMEWORK_ROUTES.get(path)
            for method in sorted((original.methods or {"GET"}) - {"HEAD"}):
                yield RouteInfo(method, path, policy, original)
        else:  # websockets and anything else must be declared by path
            path = prefix + str(getattr(route, "path", "?"))
            yield RouteInfo("*", path, declared.get(path), original)
