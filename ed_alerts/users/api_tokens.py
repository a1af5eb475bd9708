"""API token secrets: generated, shown once, stored as a hash, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "eda_"  # tells a feed token from a JWT at a glance, and lets secret scanners find leaks


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_api_token(token: str) -> bool:
    return token.startswith(PREFIX)


def hint(token: str) -> str:
    return token[: len(PREFIX) + 6]
