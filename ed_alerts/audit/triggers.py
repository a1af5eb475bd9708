"""Database triggers that make the audit table append-only, for each dialect.

The hash chain proves tampering after the fact; the triggers stop it through the application's own
connection in the first place. Someone with the database owner's rights can still drop them, which is
what `ed-alerts audit verify` is for.
"""

from __future__ import annotations

SQLITE = [
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_entry_no_update", "DROP TRIGGER IF EXISTS audit_entry_no_delete"]

POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
]
POSTGRESQL_DROP = ["DROP TRIGGER IF EXISTS audit_entry_no_change ON audit_entry",
                   "DROP FUNCTION IF EXISTS audit_entry_append_only()"]


def create_statements(dialect: str) -> list[str]:
    return POSTGRESQL if dialect == "postgresql" else SQLITE


def drop_statements(dialect: str) -> list[str]:
    return POSTGRESQL_DROP if dialect == "postgresql" else SQLITE_DROP
