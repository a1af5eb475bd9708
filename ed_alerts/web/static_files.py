"""The web's own scripts and styles (ed_alerts/web/static), served from here: nothing is fetched from
elsewhere at run time and there is no build step. Public: they hold no data."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ed_alerts.auth.policy import public
from ed_alerts.errors import NotFound
from ed_alerts.web.rendering import STATIC_DIR

router = APIRouter()
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*\.(css|js|svg)$")
_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml"}


@router.get("/static/{name}", name="web_static", dependencies=[public()])
def static_file(name: str) -> FileResponse:
    match = _NAME.match(name)
    path = STATIC_DIR / name
    if match is None or not path.is_file():
        raise NotFound(f"no static file {name!r}")
    # Versioned URLs (?v=...) change with the content, so a long cache is safe.
    return FileResponse(path, media_type=_TYPES[match.group(1)],
                        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
