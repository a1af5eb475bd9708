"""Checking a user name and password: rate limited, audited, the same answer for every failure.

Shared by `POST /auth/token` and the sign-in page. Failures are audited (`auth.signin_failed`, with
the reason, which only the audit log sees); successes too (`auth.signin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ed_alerts.audit.service import Actor, record
from ed_alerts.auth.authenticate import Authenticator, principal_for
from ed_alerts.auth.errors import TooManyAttempts, Unauthorized
from ed_alerts.auth.passwords import hash_password, needs_rehash, verify_password
from ed_alerts.auth.principal import Principal
from ed_alerts.db.session import Database
from ed_alerts.users.service import find_user, normalise_name

ANONYMOUS = Actor("anonymous", "anonymous")
FAILED = "the user name or password is not right, or the account is disabled"
Channel = Literal["token", "web"]


@dataclass(frozen=True)
class Attempt:
    username: str
    password: str
    client_ip: str
    channel: Channel


def sign_in(auth: Authenticator, db: Database, attempt: Attempt) -> Principal:
    name = normalise_name(attempt.username)[:60]
    wait = auth.limiter.blocked(name, attempt.client_ip)
    if wait is not None:
        if auth.limiter.first_refusal(name, attempt.client_ip, wait):
            _audit_failure(db, name, attempt, "rate limited")
        raise TooManyAttempts(wait)
    with db.session() as session:
        user = find_user(session, name)
        password_ok = verify_password(user.password_hash if user else None, attempt.password)
        if user is not None and user.active and password_ok:
            assert user.password_hash is not None
            if needs_rehash(user.password_hash):  # argon2 parameters were raised since it was set
                user.password_hash = hash_password(attempt.password)
            principal = principal_for(user, "session" if attempt.channel == "web" else "token")
            record(session, principal.actor, "auth.signin", "user", user.name,
                   details={"channel": attempt.channel, "client_ip": attempt.client_ip})
            auth.limiter.succeeded(name)
            return principal
        reason = ("no such user" if user is None else "account disabled" if not user.active
                  else "no password (token-only user)" if user.password_hash is None else "wrong password")
    auth.limiter.failed(name, attempt.client_ip)
    _audit_failure(db, name, attempt, reason)
    raise Unauthorized(FAILED)


def _audit_failure(db: Database, name: str, attempt: Attempt, reason: str) -> None:
    with db.session() as session:
        record(session, ANONYMOUS, "auth.signin_failed", "user", name or "(blank)", reason=reason,
               details={"channel": attempt.channel, "client_ip": attempt.client_ip})
