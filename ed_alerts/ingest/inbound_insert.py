"""The INSERT every acknowledgement waits for, compiled once and run on the DB-API cursor.

SQLAlchemy's per-statement machinery (session, connection events, compiled-cache lookup, result
objects) costs about 0.3 to 0.5 ms a message, more than SQLite's own insert and commit together, on
the path that bounds how fast a feed is acknowledged. So this one statement is compiled by
SQLAlchemy for the engine's dialect at start, its parameters converted by the columns' own type
processors (the UTC timestamp, JSON, booleans), and executed directly. Everything else goes through
`Database.session()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ed_alerts.ingest.models import InboundMessage

# Every column a new message is stored with; the rest are NULL until it is processed.
COLUMNS = (
    "transport", "content_type", "sender", "control_id", "message_type", "received_at", "raw", "size",
    "status", "attempts", "duplicate_count", "registered_sender", "unmapped", "attendance_ids",
)


class InboundInsert:
    """`INSERT ... ON CONFLICT (sender, control_id) DO NOTHING RETURNING id` for one new message."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        table = cast(Table, InboundMessage.__table__)
        insert = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(table)
            .values({name: bindparam(name, type_=table.c[name].type) for name in COLUMNS})
            .on_conflict_do_nothing(index_elements=["sender", "control_id"])
            .returning(table.c.id)
        )
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # qmark drivers (sqlite3) take a tuple in the compiled order; named ones (psycopg) a dict.
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup is not None else None
        )
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name in COLUMNS:
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """`values` (every name in COLUMNS) as the driver takes them."""
        bound = {name: self._processors[name](value) if name in self._processors else value
                 for name, value in values.items()}
        if self._order is None:
            return bound
        return tuple(bound[name] for name in self._order)

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> int | None:
        """The new message's id, or None when (sender, control id) is already stored."""
        cursor.execute(self.sql, self.parameters(values))
        row = cursor.fetchone()
        return None if row is None else int(row[0])
