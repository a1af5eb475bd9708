"""The background scheduler (APScheduler 3, BackgroundScheduler) started in the app's lifespan.

Each job runs on the scheduler's thread pool, never on a request: delivery and escalation do not
slow ingest or the API. Before every run the job checks leadership (leader.py); a process that is
not the leader skips the run, and takes over when the leader goes away. Each job opens its own
database transactions (the job is the unit-of-work boundary).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from ed_alerts.scheduler.leader import LeaderLock, leader_lock_for

if TYPE_CHECKING:
    from ed_alerts.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Services], object]
    interval_s: float


class JobScheduler:
    def __init__(self, services: Services, jobs: list[Job], leader: LeaderLock | None = None) -> None:
        self._services = services
        self._jobs = jobs
        self._leader = leader or leader_lock_for(services.settings.database_url)
        # coalesce + max_instances=1: a run that overruns its interval is not stacked up behind itself.
        self._scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60})

    def _guarded(self, job: Job) -> Callable[[], None]:
        def run() -> None:
            if not self._leader.is_leader():
                return
            job.run(self._services)

        return run

    def start(self) -> None:
        now = datetime.now(UTC)
        for job in self._jobs:
            self._scheduler.add_job(self._guarded(job), "interval", seconds=job.interval_s, id=job.name,
                                    name=job.name, next_run_time=now)
        self._scheduler.start()
        log.info("scheduler started: %s", ", ".join(f"{j.name} every {j.interval_s:g}s" for j in self._jobs))

    def shutdown(self) -> None:
        # Waits for a running job (a delivery in flight) so its result is recorded, then lets go.
        self._scheduler.shutdown(wait=True)
        self._leader.release()
