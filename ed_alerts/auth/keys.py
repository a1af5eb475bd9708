"""Keys derived from the one secret key, one per purpose, so a token of one kind can never pass as another."""

from __future__ import annotations

import hashlib
import hmac

from ed_alerts.settings import Settings


def derive(settings: Settings, purpose: str) -> bytes:
    if settings.secret_key is None:  # pragma: no cover - Settings always fills it in development
        raise RuntimeError("no secret key configured")
    secret = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(secret, f"ed-alerts/{purpose}".encode(), hashlib.sha256).digest()
