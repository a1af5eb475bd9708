"""Access errors. They are domain errors (one handler renders them) that also carry headers."""

from __future__ import annotations

from ed_alerts.errors import DomainError, Forbidden

__all__ = ["AuthUnavailable", "Forbidden", "TooManyAttempts", "Unauthorized"]


class Unauthorized(DomainError):
    """No credentials, or credentials that do not hold (bad, expired, revoked, disabled user)."""

    status_code = 401

    def __init__(self, reason: str, *, invalid_token: bool = False) -> None:
        super().__init__(reason)
        challenge = 'Bearer realm="ed-alerts"'
        if invalid_token:
            # RFC 6750: tell the client to fetch a new token rather than retry this one.
            challenge += ', error="invalid_token"'
        self.headers = {"WWW-Authenticate": challenge}


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, retry_after_s: float) -> None:
        wait = max(1, int(retry_after_s + 0.999))
        super().__init__(f"too many failed sign-ins: try again in {wait} seconds")
        self.retry_after_s = wait
        self.headers = {"Retry-After": str(wait)}


class AuthUnavailable(DomainError):
    """The external identity provider's keys could not be fetched: not the caller's fault."""

    status_code = 503

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.headers = {"Retry-After": "30"}
