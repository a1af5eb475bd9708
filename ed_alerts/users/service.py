"""Creating, listing and disabling users; their passwords and API tokens. Flushes, never commits.

Every change is audited in the caller's transaction (`user.created`, `user.disabled`,
`user.password_set`, `user.token_issued`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ed_alerts.audit.service import Actor, record
from ed_alerts.auth.passwords import hash_password
from ed_alerts.auth.roles import Role, ScopeError, check_scope
from ed_alerts.db.base import utcnow
from ed_alerts.errors import Conflict, DomainError, NotFound
from ed_alerts.sites.registry import SiteRegistry
from ed_alerts.users import api_tokens
from ed_alerts.users.models import ApiToken, User
from ed_alerts.users.schemas import NAME_PATTERN, UserView


class InvalidUser(DomainError):
    status_code = 422


@dataclass(frozen=True)
class NewUser:
    name: str
    role: Role
    sites: Sequence[str] = ()
    trust: str | None = None
    password: str | None = None
    api_token: bool = False


@dataclass(frozen=True)
class Created:
    user: UserView
    api_token: str | None


def normalise_name(name: str) -> str:
    return name.strip().lower()


def check_password(password: str, name: str, min_length: int) -> None:
    if len(password) < min_length:
        raise InvalidUser(f"the password must have at least {min_length} characters")
    if name.lower() in password.lower():
        raise InvalidUser("the password must not contain the user name")


def _check_scope_codes(sites: list[str], trust: str | None, registry: SiteRegistry | None) -> None:
    """Codes must be in the registry, so that a typo fails here rather than as a user who sees nothing."""
    if registry is None or not registry.sites:
        return  # no registry to check against (development without a sites file)
    unknown = [s for s in sites if registry.lookup(s) is None]
    if unknown:
        known = ", ".join(sorted(s.code for s in registry.sites))
        raise InvalidUser(f"unknown site code(s) {', '.join(unknown)}; the registry has: {known}")
    trusts = {s.trust.upper() for s in registry.sites} | {registry.default_trust.upper()}
    if trust is not None and trust not in trusts:
        raise InvalidUser(f"unknown trust {trust}; the registry has: {', '.join(sorted(trusts))}")


def create_user(session: Session, new: NewUser, *, actor: Actor, registry: SiteRegistry | None,
                password_min_length: int) -> Created:
    name = normalise_name(new.name)
    if not re.match(NAME_PATTERN, name):
        raise InvalidUser("a user name has letters, digits and . _ @ - only, at most 60 characters")
    sites = sorted({s.strip().upper() for s in new.sites if s.strip()})
    trust = new.trust.strip().upper() if new.trust and new.trust.strip() else None
    try:
        check_scope(new.role, sites, trust)
    except ScopeError as exc:
        raise InvalidUser(str(exc)) from exc
    _check_scope_codes(sites, trust, registry)
    if new.api_token and new.role is not Role.INTEGRATION:
        raise InvalidUser("only integration users have API tokens")
    if new.password is None and new.role is not Role.INTEGRATION:
        raise InvalidUser(f"a {new.role.value} needs a password")
    if new.password is None and not new.api_token:
        raise InvalidUser("a user without a password needs an API token, or it could never sign in")
    if new.password is not None:
        check_password(new.password, name, password_min_length)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"user {name} already exists")
    user = User(name=name, role=new.role.value, sites=sites, trust=trust, active=True,
                password_hash=hash_password(new.password) if new.password is not None else None)
    session.add(user)
    session.flush()
    record(session, actor, "user.created", "user", name,
           details={"role": user.role, "sites": sites, "trust": trust, "password": new.password is not None})
    token = _issue_token(session, user, actor) if new.api_token else None
    return Created(user=view(session, user), api_token=token)


def find_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == normalise_name(name)))


def get_user(session: Session, name: str) -> User:
    user = find_user(session, name)
    if user is None:
        raise NotFound(f"user {normalise_name(name)} does not exist")
    return user


def list_users(session: Session) -> list[UserView]:
    return [view(session, u) for u in session.scalars(select(User).order_by(User.name))]


def disable_user(session: Session, name: str, *, actor: Actor) -> UserView:
    """Signs the user out everywhere at once: tokens are checked against the record on every request."""
    user = get_user(session, name)
    if user.active:
        user.active = False
        user.disabled_at = utcnow()
        _revoke_tokens(session, user)
        session.flush()
        record(session, actor, "user.disabled", "user", user.name)
    return view(session, user)


def set_password(session: Session, name: str, password: str, *, actor: Actor, password_min_length: int) -> None:
    user = get_user(session, name)
    check_password(password, user.name, password_min_length)
    user.password_hash = hash_password(password)
    session.flush()
    record(session, actor, "user.password_set", "user", user.name)


def issue_api_token(session: Session, name: str, *, actor: Actor) -> str:
    """A new token for an integration user; the earlier ones stop working."""
    user = get_user(session, name)
    if Role(user.role) is not Role.INTEGRATION:
        raise InvalidUser("only integration users have API tokens")
    if not user.active:
        raise InvalidUser(f"user {user.name} is disabled")
    _revoke_tokens(session, user)
    return _issue_token(session, user, actor)


def user_for_api_token(session: Session, token: str) -> User | None:
    row = session.execute(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == api_tokens.digest(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    return row


def _issue_token(session: Session, user: User, actor: Actor) -> str:
    token = api_tokens.generate()
    session.add(ApiToken(user_id=user.id, token_hash=api_tokens.digest(token), hint=api_tokens.hint(token)))
    session.flush()
    record(session, actor, "user.token_issued", "user", user.name, details={"hint": api_tokens.hint(token)})
    return token


def _revoke_tokens(session: Session, user: User) -> None:
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))


def view(session: Session, user: User) -> UserView:
    tokens = session.scalar(select(func.count()).select_from(ApiToken)
                            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))) or 0
    return UserView(name=user.name, role=Role(user.role), sites=list(user.sites or []), trust=user.trust,
                    active=user.active, has_password=user.password_hash is not None, api_tokens=tokens,
                    created_at=user.created_at)
