"""Row ids as they arrive in URLs and references: only a plain number that fits a BIGINT is one of ours."""

from __future__ import annotations

import re

_ROW_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only (str.isdigit also accepts "²")
MAX_ROW_ID = 10**18 - 1  # the largest 18-digit number: well inside SQLite INTEGER and PostgreSQL bigint


def row_id(text: str) -> int | None:
    return int(text) if _ROW_ID.fullmatch(text) else None
