"""The users API, for admins only: list, create, disable, issue a feed token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ed_alerts.auth.policy import require
from ed_alerts.auth.principal import Principal
from ed_alerts.auth.roles import Role
from ed_alerts.deps import get_services
from ed_alerts.openapi import errors
from ed_alerts.services import Services
from ed_alerts.users import service
from ed_alerts.users.schemas import ApiTokenIssued, UserCreate, UserCreated, UserView

router = APIRouter(prefix="/api/users", tags=["users"])
ServicesDep = Annotated[Services, Depends(get_services)]
# User records name staff, not children: not identifiable in the policy's sense.
Admin = Annotated[Principal, require(Role.ADMIN, identifiable=False)]


@router.get("", summary="Every user, with role and scope")
def list_users(services: ServicesDep, _: Admin) -> list[UserView]:
    with services.db.session() as session:
        return service.list_users(session)


@router.post("", status_code=201, summary="Create a user; an integration user's API token is shown once",
             responses=errors(409, 422))
def create_user(body: UserCreate, services: ServicesDep, admin: Admin) -> UserCreated:
    new = service.NewUser(name=body.name, role=body.role, sites=body.sites, trust=body.trust,
                          password=body.password.get_secret_value() if body.password else None,
                          api_token=body.api_token)
    with services.db.session() as session:
        created = service.create_user(session, new, actor=admin.actor, registry=services.sites,
                                      password_min_length=services.settings.password_min_length)
    return UserCreated(user=created.user, api_token=created.api_token)


@router.post("/{name}/disable", summary="Disable a user: their tokens and sessions stop working at once",
             responses=errors(404))
def disable_user(name: str, services: ServicesDep, admin: Admin) -> UserView:
    with services.db.session() as session:
        return service.disable_user(session, name, actor=admin.actor)


@router.post("/{name}/api-token", summary="Issue a new API token for an integration user (revokes the old)",
             responses=errors(404, 422))
def issue_token(name: str, services: ServicesDep, admin: Admin) -> ApiTokenIssued:
    with services.db.session() as session:
        token = service.issue_api_token(session, name, actor=admin.actor)
        user = service.get_user(session, name)
        return ApiTokenIssued(name=user.name, api_token=token)
