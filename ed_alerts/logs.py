"""Logging set-up: plain or JSON lines. Log records carry ids, never patient identifiers or free text.

Two things could carry identifiers into a log without anyone writing them there, so both are cut here:

- exception messages: a database error repeats the row it refused (PostgreSQL's "Key (system, value)=
  (…nhs-number, 9990000018) already exists"), a parser error may quote a field. Tracebacks are logged
  with their frames and exception types; messages only for our own errors, worded without values.
- the HTTP access log: a query string can hold a search by NHS number (`patient:identifier=…`).
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from ed_alerts.errors import DomainError

# Loggers that log at the configured level; the rest of the root logger's tree at WARNING or above.
OUR_LOGGERS = ("ed_alerts", "integrations", "uvicorn", "alembic")

# Ids a log call may attach with `extra=`; the JSON formatter adds them as fields.
STRUCTURED_FIELDS = ("message_id", "attendance_ids", "flag_ids", "sender", "transport")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _safe_line(exc: BaseException) -> str:
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, DomainError):
        return f"{name}: {exc.reason}"  # our own reasons name fields and codes, never their values
    return f"{name} (message withheld: it may quote patient data)"


def safe_exception_text(exc_info: ExcInfo) -> str:
    """A traceback with every frame and exception type of the chain, without exception messages."""
    exc = exc_info[1]
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        block = ["Traceback (most recent call last):\n", *traceback.format_tb(exc.__traceback__),
                 _safe_line(exc) + "\n"]
        parts.insert(0, "".join(block))
        if exc.__cause__ is not None:
            exc, joiner = exc.__cause__, "\nThe above exception was the direct cause of the following:\n\n"
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc, joiner = exc.__context__, "\nDuring handling of the above exception, another occurred:\n\n"
        else:
            break
        parts.insert(0, joiner)
    return "".join(parts).rstrip("\n")


class SafeFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return safe_exception_text(ei)


class JsonFormatter(SafeFormatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in STRUCTURED_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class DropQueryStrings(logging.Filter):
    """uvicorn's access log records (client, method, path with query, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            if isinstance(args[2], str) and "?" in args[2]:
                args[2] = args[2].split("?", 1)[0] + "?…"
                record.args = tuple(args)
        return True


class _QuietLibraries(logging.Filter):
    """PyRuSH (medspaCy's sentence splitter) and PyFastNER under it log hundreds of rule-syntax notes
    on the root logger when their rules are compiled, and more as they split sentences; they say
    nothing an operator can act on. Above DEBUG the root logger's level drops them before a record
    is built (configure_logging); this keeps them out at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and ("PyRuSH" in record.pathname
                                                       or "PyFastNER" in record.pathname))


def configure_logging(level: str = "INFO", *, json_format: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_format else
                         SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # On the handler, not a logger: records propagated from uvicorn's loggers pass handler filters.
    handler.addFilter(DropQueryStrings())
    handler.addFilter(_QuietLibraries())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # The scheduler would log every job run (every few seconds) at INFO; its warnings still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request; ours say more, without URLs
    # The level applies to our loggers and the server's; other libraries say warnings and errors
    # only (everything at DEBUG). Not a filter: PyFastNER logs an INFO note on the root logger for
    # every sentence split, and a record dropped by a filter has already been built (its caller
    # found, its time taken): about 3 % of the ingest worker's time. A root above INFO drops the
    # call at once.
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level: {level}")
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(numeric)
    root.setLevel(numeric if numeric < logging.INFO else max(numeric, logging.WARNING))
