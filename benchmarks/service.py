"""Throwaway databases, the real service as a process (`python -m ed_alerts serve`), the bare peer
as a process, and a resident-memory sampler for either.

SQLite: a fresh file in a temporary folder. PostgreSQL: a fresh database created through the admin
URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres) and dropped afterwards.
Migrations run first with `python -m ed_alerts db upgrade`, as an operator would.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
SITES_FILE = REPO_ROOT / "config" / "sites.example.yaml"
DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- databases ---------------------------------------------------------------------------------

class ThrowawayDatabase:
    """A fresh database for one part of a run: `url`, `upgrade()`, `drop()`."""

    def __init__(self, kind: str, workdir: Path, *, pg_admin_url: str = DEFAULT_PG_ADMIN_URL,
                 label: str = "svc") -> None:
        self.kind = kind
        self._pg_admin_url = pg_admin_url
        if kind == "sqlite":
            self.path = workdir / f"{label}-{uuid.uuid4().hex[:8]}.db"
            self.url = f"sqlite:///{self.path}"
            self.name = self.path.name
        elif kind == "postgres":
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            self.name = f"ed_alerts_bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            self.url = make_url(pg_admin_url).set(database=self.name).render_as_string(hide_password=False)
        else:
            raise ValueError(kind)

    def upgrade(self) -> float:
        """`python -m ed_alerts db upgrade` against this database; returns the seconds it took."""
        t = time.perf_counter()
        env = {**os.environ, "ED_ALERTS_DATABASE_URL": self.url}
        done = subprocess.run([sys.executable, "-m", "ed_alerts", "db", "upgrade"], env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"db upgrade failed:\n{done.stdout}\n{done.stderr}")
        return time.perf_counter() - t

    def size_bytes(self) -> int | None:
        if self.kind == "sqlite":
            return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.kind == "sqlite":
            for p in self.path.parent.glob(self.path.name + "*"):
                p.unlink(missing_ok=True)
            return
        from sqlalchemy import create_engine, text

        admin = create_engine(self._pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


def postgres_reachable(admin_url: str) -> str | None:
    """None when PostgreSQL answers at `admin_url`, else the reason."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(admin_url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - reported to the user
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


# --- memory ------------------------------------------------------------------------------------

def peak_rss_bytes(pid: int) -> int | None:
    """The kernel's high-water mark of resident memory (VmHWM) for a live process, Linux only."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def process_tree(pid: int) -> list[psutil.Process]:
    """The service and the processes it started (its ingest worker, multiprocessing's tracker)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_rss(pid: int) -> int | None:
    """Resident memory of the service and its child processes together."""
    total = 0
    for proc in process_tree(pid):
        try:
            total += int(proc.memory_info().rss)
        except psutil.Error:
            continue
    return total or None


def tree_peak_rss(pid: int) -> int:
    """The sum of each process's high-water mark: an upper bound, their peaks need not coincide."""
    return sum(peak_rss_bytes(proc.pid) or 0 for proc in process_tree(pid))


class MemorySampler:
    """Samples the RSS of a process and its children with psutil every `interval` seconds, in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, pid: int) -> None:
        self._pid = pid
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
            self._thread.start()

    def sample(self) -> int | None:
        if self._pid is None:
            return None
        rss = tree_rss(self._pid)
        if rss is None:
            return None
        self.peak = max(self.peak, rss)
        self.samples.append((time.time(), rss))
        return rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


# --- processes ---------------------------------------------------------------------------------

def cpu_seconds(proc: subprocess.Popen[bytes] | None, *, children: bool = True) -> float | None:
    """User + system CPU seconds a live process has used (all its threads), with its child
    processes' (the ingest worker) unless `children` is False."""
    if proc is None or proc.poll() is not None:
        return None
    total = 0.0
    for one in process_tree(proc.pid) if children else [psutil.Process(proc.pid)]:
        try:
            t = one.cpu_times()
        except psutil.Error:
            continue
        total += float(t.user + t.system)
    return total


BENCH_SITES = ["RGT01", "RGT02", "RGTMIU", "RYC"]


@dataclass
class Readers:
    """Who the benchmark reads the API as: an integration feed's API token (GET /api/messages,
    /api/feeds) and an ED nurse scoped to every benchmark site (GET /api/attendances/{id})."""

    integration_token: str | None = None
    nurse: tuple[str, str] | None = None


class ServiceProcess:
    """`python -m ed_alerts serve` with the benchmark's database, ports and site registry."""

    def __init__(self, db_url: str, log_path: Path, sampler: MemorySampler | None = None,
                 ack: str = "stored") -> None:
        self.http_port = free_port()
        self.mllp_port = free_port()
        self.log_path = log_path
        self.sampler = sampler
        self.env = {
            **os.environ,
            "ED_ALERTS_DATABASE_URL": db_url,
            "ED_ALERTS_SITES_FILE": str(SITES_FILE),
            "ED_ALERTS_MLLP_PORT": str(self.mllp_port),
            "ED_ALERTS_HTTP_PORT": str(self.http_port),
            "ED_ALERTS_MLLP_ACK": ack,
            # a fixed key for the run, so tokens outlive the catch-up restart
            "ED_ALERTS_SECRET_KEY": secrets.token_hex(32),
        }
        self.readers = Readers()
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_hwm = 0  # VmHWM of every process started by this object, the largest
        self.idle_rss: int | None = None  # RSS once started, before any message

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def provision_readers(self) -> Readers:
        """Create the benchmark's API users with `ed-alerts users add` (before start). A tree without
        the users command (no sign-in yet) gets no credentials, and the API is read without them."""
        def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "ed_alerts", *args], env=self.env, cwd=REPO_ROOT,
                                  input=stdin, capture_output=True, text=True, timeout=120, check=False)

        if cli("users", "--help").returncode != 0:
            return self.readers
        done = cli("users", "add", "bench-feed", "--role", "integration", "--no-password", "--token")
        if done.returncode != 0:
            raise RuntimeError(f"users add (integration) failed:\n{done.stdout}\n{done.stderr}")
        self.readers.integration_token = done.stdout.strip().splitlines()[-1].strip()
        password = secrets.token_urlsafe(24)
        sites = [a for site in BENCH_SITES for a in ("--site", site)]
        done = cli("users", "add", "bench-nurse", "--role", "ed_nurse", *sites, stdin=password + "\n")
        if done.returncode != 0:
            raise RuntimeError(f"users add (ed_nurse) failed:\n{done.stdout}\n{done.stderr}")
        self.readers.nurse = ("bench-nurse", password)
        return self.readers

    def integration_headers(self) -> dict[str, str]:
        token = self.readers.integration_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def start(self, timeout: float = 90) -> float:
        """Start and wait until HTTP answers /healthz and MLLP accepts; returns the seconds taken."""
        t = time.perf_counter()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "ed_alerts", "serve"], env=self.env, cwd=REPO_ROOT,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                # /readyz: the ingest worker process has loaded its rules too
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    with socket.create_connection(("127.0.0.1", self.mllp_port), timeout=1):
                        pass
                    elapsed = time.perf_counter() - t
                    if self.sampler is not None:
                        self.sampler.attach(self.proc.pid)
                    self.idle_rss = tree_rss(self.proc.pid)
                    return elapsed
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"service did not start:\n{self.log_path.read_text()[-3000:]}")

    def cpu_seconds(self, *, children: bool = True) -> float | None:
        return cpu_seconds(self.proc, children=children)

    def rss(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        return tree_rss(self.proc.pid)

    def stop(self) -> None:
        """SIGTERM (graceful: in-flight messages finish), then wait; SIGKILL after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.sampler is not None:
            self.sampler.sample()
        hwm = tree_peak_rss(self.proc.pid)
        if hwm:
            self.peak_hwm = max(self.peak_hwm, hwm)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class BarePeerProcess:
    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_peer.py")),
                                      "--port", str(self.port)], cwd=REPO_ROOT, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bare peer exited:\n{self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("bare peer did not start")

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
