"""The checks behind /readyz: can this instance do its job right now?

Database reachable, schema at the migrations' heads (a replica started against an un-migrated database
must not take traffic), rule pack loaded, the MLLP listener accepting connections when it is
enabled, and the ingest worker process running with its rules loaded when there is one. Each check
says what it found, so a failing probe explains itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from ed_alerts.db.migrate import alembic_config
from ed_alerts.db.session import Database
from ed_alerts.evaluation import RulePack
from ed_alerts.ingest.worker_process import WorkerProcess
from integrations.mllp import MLLPServer


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@cache
def script_heads() -> frozenset[str]:
    """The migrations' heads: read once, the scripts do not change under a running process."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def check_database(db: Database) -> list[Check]:
    """Reachability and migration state, on one connection."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means "not ready"
        failed = f"unreachable: {type(exc).__name__}"
        return [Check("database", False, failed), Check("migrations", False, "database unreachable")]
    expected = script_heads()
    if current == expected:
        migrations = Check("migrations", True, f"at {', '.join(sorted(current))}")
    else:
        found = ", ".join(sorted(current)) or "none"
        migrations = Check("migrations", False,
                           f"database at {found}; migrations at {', '.join(sorted(expected))}: "
                           "run `ed-alerts db upgrade`")
    return [Check("database", True, "reachable"), migrations]


def check_rules(pack: RulePack | None) -> Check:
    if pack is None or not pack.rules:
        return Check("rules", False, "no rule pack loaded")
    return Check("rules", True, f"{len(pack.rules)} rules, digest {pack.digest[:12]}")


def check_mllp(enabled: bool, server: MLLPServer | None) -> Check | None:
    if not enabled:
        return None
    if server is None or not server.serving:
        return Check("mllp", False, "enabled but not listening")
    return Check("mllp", True, f"listening on port {server.port}")


def check_worker(worker: object) -> Check | None:
    """Only a worker process can be not ready: a worker thread runs on this process's services."""
    if not isinstance(worker, WorkerProcess):
        return None
    if worker.ready:
        return Check("ingest_worker", True, f"process {worker.pid} running")
    # Messages are still stored and acknowledged; flags wait until it is up.
    state = "restarting after it exited" if worker.restarts else "starting (loading the rules)"
    return Check("ingest_worker", False, f"process {state}")


def readiness(db: Database, pack: RulePack | None, *, mllp_enabled: bool,
              mllp: MLLPServer | None, worker: object = None) -> list[Check]:
    checks = [*check_database(db), check_rules(pack)]
    for check in (check_mllp(mllp_enabled, mllp), check_worker(worker)):
        if check is not None:
            checks.append(check)
    return checks
