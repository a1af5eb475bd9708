"""The check every HTTP adapter's endpoint configuration makes of its URL: absolute, http or https."""

from __future__ import annotations

import httpx


def absolute_http_url(value: str) -> httpx.URL:
    """`value` parsed; ValueError (in a pydantic validator, a validation error) unless it is an
    absolute http(s) URL: a relative or other-scheme URL would only fail later, at the first send."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an absolute http(s) URL")
    return url
