"""`make bench`: drive the real service and a bare python-hl7 MLLP peer with the same load, and print
throughput, ACK latency, time to flag, rule evaluation with a million earlier attendances, peak
memory and catch-up time. Figures, never assertions. See benchmarks/README.md.

    .venv/bin/python benchmarks/run.py                # SQLite, about 10 minutes
    .venv/bin/python benchmarks/run.py --postgres     # SQLite and PostgreSQL, about 20 minutes
    .venv/bin/python benchmarks/run.py --quick        # a one-minute smoke run (small numbers)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from benchmarks import profile_service, report, rule_eval
from benchmarks.loadgen import Msg, RunResult, build_mix, closed_loop, describe_mix, open_loop, summary_ms
from benchmarks.service import (
    DEFAULT_PG_ADMIN_URL,
    REPO_ROOT,
    BarePeerProcess,
    MemorySampler,
    ServiceProcess,
    ThrowawayDatabase,
    postgres_reachable,
)

RESULTS = Path(__file__).resolve().parent / "results"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _closed_summary(res: RunResult, cpu_before: float | None = None, cpu_after: float | None = None
                    ) -> dict[str, Any]:
    out = {"messages": res.sent, "seconds": round(res.elapsed_s, 2), "msg_per_s": round(res.rate, 1),
           "time_capped": res.capped,
           "acks": dict(res.acks), "errors": dict(res.errors), "latency_ms": summary_ms(res.latencies_ms)}
    if cpu_before is not None and cpu_after is not None and res.sent:
        # CPU the server's processes spent per message: unlike msg/s, barely moved by other load on the box.
        out["server_cpu_ms_per_msg"] = round((cpu_after - cpu_before) * 1000 / res.sent, 3)
    return out


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --- time to flag ---------------------------------------------------------------------------------

POLL_FIRST_S, POLL_MAX_S = 0.02, 0.16  # the flag reader's first and longest wait between reads


class FlagReader:
    """For each child's A04 the rule pack should flag: as soon as its ACK arrives, look the message up
    in GET /api/messages (its attendance id), then GET /api/attendances/{id} until `flags` is not
    empty. Time to flag = flags read - the message's scheduled send time."""

    def __init__(self, svc: ServiceProcess) -> None:
        self.svc = svc
        self.http = httpx.AsyncClient(base_url=svc.base_url, timeout=30)
        self.feed_headers = svc.integration_headers()
        self.nurse_headers: dict[str, str] = {"X-Access-Reason": "benchmark: time to flag"}
        self.tasks: list[asyncio.Task[None]] = []
        self.ttf_ms: list[float] = []
        self.lookup_ms: list[float] = []  # the two reads after the ACK
        self.no_flags = 0
        self.not_found = 0
        self.errors = 0

    async def sign_in(self) -> None:
        """The nurse's bearer token, as a client would get it (POST /auth/token)."""
        if self.svc.readers.nurse is None:
            return
        name, password = self.svc.readers.nurse
        r = await self.http.post("/auth/token", data={"username": name, "password": password})
        r.raise_for_status()
        self.nurse_headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def on_ack(self, m: Msg, sent: float, acked: float, ack: bytes) -> None:
        if m.expect_flag and b"MSA|AA" in ack:
            self.tasks.append(asyncio.create_task(self._read(m, sent, acked)))

    async def _attendance_id(self, m: Msg) -> int | None:
        r = await self.http.get("/api/messages", params={"control_id": m.control_id}, headers=self.feed_headers)
        r.raise_for_status()
        for row in r.json():
            if row["sender"] == m.sender:
                return row["attendance_ids"][0] if row["attendance_ids"] else None
        return None

    async def _read(self, m: Msg, sent: float, acked: float) -> None:
        """Poll (for up to 10 s) until the flag is readable: with ACK after storage the message is
        applied moments after its ACK, so the first read may come too early. The wait between reads
        starts at 20 ms and doubles up to POLL_MAX_S: a reader polling every 20 ms whatever happens
        becomes, at 50 msg/s on a slow machine, hundreds of audited API reads a second that hold up
        the very worker it waits for. A flag is therefore read at most POLL_MAX_S after it exists."""
        deadline = time.perf_counter() + 10
        wait = POLL_FIRST_S
        try:
            attendance_id = None
            while attendance_id is None:
                attendance_id = await self._attendance_id(m)
                if attendance_id is None:
                    if time.perf_counter() > deadline:
                        self.not_found += 1
                        return
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, POLL_MAX_S)
            while time.perf_counter() <= deadline:
                r = await self.http.get(f"/api/attendances/{attendance_id}", headers=self.nurse_headers)
                r.raise_for_status()
                if r.json().get("flags"):
                    done = time.perf_counter()
                    self.ttf_ms.append((done - sent) * 1000)
                    self.lookup_ms.append((done - acked) * 1000)
                    return
                await asyncio.sleep(wait)
                wait = min(wait * 2, POLL_MAX_S)
            self.no_flags += 1
        except httpx.HTTPError as exc:
            self.errors += 1
            if self.errors <= 3:
                log(f"flag reader: {type(exc).__name__}: {exc}")

    async def finish(self) -> dict[str, Any]:
        await asyncio.gather(*self.tasks)
        await self.http.aclose()
        return {"time_to_flag_ms": summary_ms(self.ttf_ms), "reads_after_ack_ms": summary_ms(self.lookup_ms),
                "expected_but_no_flags": self.no_flags, "message_not_found": self.not_found,
                "http_errors": self.errors}


# --- phases ---------------------------------------------------------------------------------------

async def _fixed_rate(svc: ServiceProcess, rate: float, seconds: float, seed: int) -> dict[str, Any]:
    msgs = build_mix(int(rate * seconds * 1.1) + 20, seed=seed, prefix=f"R{int(rate)}-")
    reader = FlagReader(svc)
    await reader.sign_in()
    res = await open_loop("127.0.0.1", svc.mllp_port, msgs, rate=rate, duration_s=seconds, connections=8,
                          seed=seed, on_ack=reader.on_ack)
    flags = await reader.finish()
    return {"offered_rate": rate, "seconds": seconds, "offered": res.offered, "answered": res.sent,
            "achieved_msg_per_s": round(res.rate, 1), "saturated": res.saturated, "acks": dict(res.acks),
            "errors": dict(res.errors), "ack_latency_ms": summary_ms(res.latencies_ms), **flags}


def _feed_totals(svc: ServiceProcess) -> dict[str, int]:
    r = httpx.get(svc.base_url + "/api/feeds", timeout=60, headers=svc.integration_headers())
    r.raise_for_status()
    rows = r.json()
    keys = ("received", "processed", "quarantined", "pending", "duplicates")
    return {k: sum(int(r[k]) for r in rows) for k in keys}


def _wait_processed(svc: ServiceProcess, timeout_s: float) -> float | None:
    """Seconds until no stored message is left unprocessed (ACK after storage), None on timeout."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if _feed_totals(svc)["pending"] == 0:
            return time.perf_counter() - t0
        time.sleep(0.1)
    return None


def bench_service(kind: str, cfg: argparse.Namespace, workdir: Path, ack: str = "stored") -> dict[str, Any]:
    out: dict[str, Any] = {"database": kind, "ack": ack}
    db = ThrowawayDatabase(kind, workdir, pg_admin_url=cfg.pg_admin_url, label="svc")
    sampler = MemorySampler()
    svc = ServiceProcess(db.url, workdir / f"service-{kind}-{ack}.log", sampler, ack=ack)
    try:
        out["db_upgrade_s"] = round(db.upgrade(), 1)
        readers = svc.provision_readers()
        out["api_auth"] = bool(readers.integration_token)
        out["startup_s"] = round(svc.start(), 2)
        out["idle_rss_mb"] = round((svc.idle_rss or 0) / 2**20, 1)
        log(f"{kind}: service up in {out['startup_s']} s, idle RSS {out['idle_rss_mb']} MB")
        asyncio.run(closed_loop("127.0.0.1", svc.mllp_port, build_mix(40, seed=7, prefix="WU"),
                                connections=cfg.connections))

        msgs = build_mix(cfg.messages, seed=101, prefix="TP")
        log(f"{kind}: throughput, {len(msgs)} messages over {cfg.connections} connections...")
        out["loadavg_before_throughput"] = loadavg()
        spy = None
        if cfg.profile and svc.proc is not None:
            profile_raw = RESULTS / f"profile-{cfg.stamp}-{kind}.txt"
            RESULTS.mkdir(parents=True, exist_ok=True)
            spy = profile_service.start(svc.proc.pid, profile_raw)
            time.sleep(1.0)  # let py-spy attach before the load starts
        cpu0, listener0 = svc.cpu_seconds(), svc.cpu_seconds(children=False)
        res = asyncio.run(closed_loop("127.0.0.1", svc.mllp_port, msgs, connections=cfg.connections,
                                      max_seconds=cfg.throughput_seconds))
        out["throughput"] = _closed_summary(res, cpu0, svc.cpu_seconds())
        listener1 = svc.cpu_seconds(children=False)
        if listener0 is not None and listener1 is not None and res.sent:
            # The service process alone, without its ingest worker process: the acknowledgement path.
            out["throughput"]["listener_cpu_ms_per_msg"] = round((listener1 - listener0) * 1000 / res.sent, 3)
        # With ACK after storage the last ACK is not the end of the work: the rate that can be
        # sustained is the one at which messages are also applied and evaluated.
        waited = _wait_processed(svc, timeout_s=600)
        out["throughput"]["all_processed_after_last_ack_s"] = round(waited, 2) if waited is not None else None
        if waited is not None:
            out["throughput"]["processed_msg_per_s"] = round(res.sent / (res.elapsed_s + waited), 1)
        if spy is not None:
            err = profile_service.stop(spy)
            if profile_raw.exists():
                out["profile"] = {"raw": str(profile_raw.relative_to(REPO_ROOT)),
                                  **profile_service.summarise(profile_raw)}
            else:
                out["profile"] = {"error": err}
        log(f"{kind}: {out['throughput']['msg_per_s']} msg/s ({res.sent} messages"
            f"{', time cap reached' if res.capped else ''})")

        out["fixed_rate"] = []
        for i, rate in enumerate(cfg.rates):
            log(f"{kind}: offered {rate:g} msg/s for {cfg.rate_seconds:g} s (Poisson), with a flag reader...")
            r = asyncio.run(_fixed_rate(svc, rate, cfg.rate_seconds, seed=200 + i))
            out["fixed_rate"].append(r)
            lat = r["ack_latency_ms"]
            log(f"{kind}: {rate:g} msg/s -> achieved {r['achieved_msg_per_s']}, p50 {lat['p50']} p99 "
                f"{lat['p99']} ms{' SATURATED' if r['saturated'] else ''}; time to flag p99 "
                f"{r['time_to_flag_ms']['p99']} ms")

        out["rss_before_catchup_mb"] = round((svc.rss() or 0) / 2**20, 1)
        log(f"{kind}: catch-up: stopping the service, queueing {cfg.backlog} messages in the client...")
        svc.stop()
        backlog = build_mix(cfg.backlog, seed=301, prefix="CU")
        t_restart = time.perf_counter()
        restart_s = svc.start()
        drain = asyncio.run(closed_loop("127.0.0.1", svc.mllp_port, backlog, connections=cfg.connections,
                                        progress_every=max(1, cfg.backlog // 40),
                                        max_seconds=cfg.catchup_seconds))
        waited = _wait_processed(svc, timeout_s=1800)
        recovery_s = time.perf_counter() - t_restart
        out["catch_up"] = _catch_up(cfg.backlog, restart_s, drain, recovery_s)
        out["catch_up"]["all_processed_after_last_ack_s"] = round(waited, 1) if waited is not None else None
        if waited is not None and drain.sent:
            # 100,000 at the rate messages were applied (not merely acknowledged), plus the restart.
            applied_rate = drain.sent / (drain.elapsed_s + waited)
            out["catch_up"]["processed_msg_per_s"] = round(applied_rate, 1)
            out["catch_up"]["extrapolated_100k_processed_minutes"] = round(
                (restart_s + 100_000 / applied_rate) / 60, 1)
        out["rss_after_catchup_mb"] = round((svc.rss() or 0) / 2**20, 1)
        log(f"{kind}: drained {drain.sent} of {cfg.backlog} in {drain.elapsed_s:.0f} s ({drain.rate:.1f} msg/s)"
            f"{' (time cap)' if drain.capped else ''}; 100,000 -> ~{out['catch_up']['extrapolated_100k_minutes']} min")
        try:
            out["feeds"] = _feed_totals(svc)
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            out["feeds"] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        svc.stop()
        sampler.close()
        out["peak_rss_mb"] = round(max(sampler.peak, svc.peak_hwm) / 2**20, 1)
        out["peak_rss_sampled_mb"] = round(sampler.peak / 2**20, 1)
        out["peak_rss_vmhwm_mb"] = round(svc.peak_hwm / 2**20, 1)
        out["rss_timeline_mb"] = _timeline(sampler.samples)
        try:
            out["database_bytes"] = db.size_bytes()
        except Exception as exc:  # noqa: BLE001 - a size is nice to have, never worth failing the run
            log(f"{kind}: database size not read: {type(exc).__name__}")
        db.drop()
    return out


def _timeline(samples: list[tuple[float, int]], every_s: float = 5.0) -> list[list[float]]:
    """[seconds since the first sample, RSS MB] about every `every_s` seconds (both service processes)."""
    out: list[list[float]] = []
    if not samples:
        return out
    t0, last = samples[0][0], -every_s
    for t, rss in samples:
        if t - t0 - last >= every_s:
            last = t - t0
            out.append([round(last, 1), round(rss / 2**20, 1)])
    return out


def _catch_up(n: int, restart_s: float, drain: RunResult, recovery_s: float) -> dict[str, Any]:
    prog = drain.progress
    half = [p for p in prog if p[0] >= drain.sent // 2]
    if len(half) >= 2:
        last_half_rate = (half[-1][0] - half[0][0]) / max(1e-9, half[-1][1] - half[0][1])
    else:
        last_half_rate = drain.rate
    slowest = min(last_half_rate, drain.rate) or 1e-9
    return {
        "backlog": n, "drained": drain.sent, "time_capped": drain.capped,
        "restart_s": round(restart_s, 2), "drain_s": round(drain.elapsed_s, 1),
        "drain_msg_per_s": round(drain.rate, 1), "last_half_msg_per_s": round(last_half_rate, 1),
        "recovery_s": round(recovery_s, 1), "acks": dict(drain.acks), "errors": dict(drain.errors),
        "progress": [[k, round(t, 2)] for k, t in prog],
        "extrapolated_backlog_s": round(restart_s + n / slowest),
        # 100,000 at the slower of the whole-drain and the second-half rates, plus the restart.
        "extrapolated_100k_s": round(restart_s + 100_000 / slowest),
        "extrapolated_100k_minutes": round((restart_s + 100_000 / slowest) / 60, 1),
    }


def bench_bare_peer(cfg: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    peer = BarePeerProcess(workdir / "bare-peer.log")
    peer.start()
    try:
        asyncio.run(closed_loop("127.0.0.1", peer.port, build_mix(200, seed=7, prefix="WU"),
                                connections=cfg.connections))
        msgs = build_mix(cfg.messages, seed=101, prefix="TP")
        log(f"bare peer: the same {len(msgs)} messages over {cfg.connections} connections "
            f"(cycled for at least {cfg.bare_seconds:g} s)...")
        cpu0 = peer.cpu_seconds()
        res = asyncio.run(closed_loop("127.0.0.1", peer.port, msgs, connections=cfg.connections,
                                      min_seconds=cfg.bare_seconds))
        out = _closed_summary(res, cpu0, peer.cpu_seconds())
        log(f"bare peer: {out['msg_per_s']} msg/s")
        return out
    finally:
        peer.stop()


def memory_breakdown(workdir: Path, messages: int) -> dict[str, Any]:
    db = ThrowawayDatabase("sqlite", workdir, label="mem")
    try:
        db.upgrade()
        env = {**os.environ, "ED_ALERTS_DATABASE_URL": db.url}
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("memory_profile.py")),
                               "--messages", str(messages)], env=env, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=600, check=False)
        if done.returncode != 0:
            return {"error": done.stderr[-2000:]}
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        db.drop()


def snapshot_rules(workdir: Path) -> Path:
    """Copy the rule pack (ED_ALERTS_RULES_DIR or rules/) into the run's folder and point every
    service process and the in-process evaluation at the copy, so an edit to rules/ during the run
    (a threshold, the NLP model switched on or off) cannot make its parts measure different things."""
    import shutil

    from ed_alerts.settings import Settings

    copy = workdir / "rules"
    shutil.copytree(Settings().rules_dir, copy)
    os.environ["ED_ALERTS_RULES_DIR"] = str(copy)
    return copy


def rules_fingerprint() -> dict[str, Any]:
    """Which rule pack and NLP settings were measured: the tree changes, and the figures with it."""
    import hashlib

    import yaml

    from ed_alerts.settings import Settings

    root = Settings().rules_dir  # the run's snapshot (see snapshot_rules)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    try:
        nlp = yaml.safe_load((root / "nlp" / "settings.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        nlp = {}
    return {"rules_sha256": digest.hexdigest()[:12], "nlp_model": nlp.get("model")}


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=10, check=False).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


# --- main -----------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark ed-alerts against a bare python-hl7 MLLP peer.")
    p.add_argument("--postgres", action="store_true", help="also run every service figure on PostgreSQL")
    p.add_argument("--quick", action="store_true", help="a ~1 minute smoke run with small numbers")
    p.add_argument("--messages", type=int, help="messages in the throughput run (default 2000; quick 200)")
    p.add_argument("--skip-million", action="store_true",
                   help="rule evaluation on an empty history only (no million-row seed)")
    p.add_argument("--backlog", type=int, help="catch-up backlog queued (default 10000; quick 500)")
    p.add_argument("--catchup-seconds", type=float,
                   help="stop draining the backlog after this long and extrapolate (default 180; quick 20)")
    p.add_argument("--throughput-seconds", type=float,
                   help="stop the throughput run after this long (default 60; quick 10)")
    p.add_argument("--rates", default="10,50,100", help="offered rates for ACK latency, msg/s")
    p.add_argument("--rate-seconds", type=float, help="seconds per offered rate (default 20; quick 5)")
    p.add_argument("--prior", type=int, help="earlier attendances seeded for rule evaluation (default 1000000)")
    p.add_argument("--children", type=int, help="fresh attendances timed per database (default 200)")
    p.add_argument("--connections", type=int, default=4, help="MLLP connections for throughput and catch-up")
    p.add_argument("--pg-admin-url", default=os.environ.get("ED_ALERTS_BENCH_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL))
    p.add_argument("--only", choices=["service", "rules", "memory"], action="append",
                   help="run only these parts (repeatable); default all")
    p.add_argument("--no-sqlite", action="store_true", help="with --postgres: PostgreSQL only")
    p.add_argument("--ack", default="stored,processed",
                   help="MLLP ACK modes to run the service figures in (ED_ALERTS_MLLP_ACK), comma-separated; "
                        "the first is reported under the database's name, others as '<database> ack=<mode>'")
    p.add_argument("--profile", action="store_true",
                   help="py-spy (--gil) on the service during the throughput run; needs `pip install py-spy`")
    cfg = p.parse_args(argv)
    q = cfg.quick
    cfg.messages = cfg.messages or (200 if q else 2000)
    cfg.backlog = cfg.backlog or (500 if q else 10_000)
    cfg.rate_seconds = cfg.rate_seconds or (5.0 if q else 20.0)
    cfg.catchup_seconds = cfg.catchup_seconds or (20.0 if q else 180.0)
    cfg.throughput_seconds = cfg.throughput_seconds or (10.0 if q else 60.0)
    cfg.prior = cfg.prior if cfg.prior is not None else (20_000 if q else 1_000_000)
    cfg.children = cfg.children or (30 if q else 200)
    cfg.rates = [float(r) for r in cfg.rates.split(",") if r.strip()]
    cfg.ack = [a.strip() for a in cfg.ack.split(",") if a.strip()]
    if not cfg.ack or any(a not in {"stored", "processed"} for a in cfg.ack):
        p.error("--ack takes stored and/or processed")
    cfg.bare_seconds = 2.0 if q else 8.0
    return cfg


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    # In-process settings (rule evaluation, fingerprint) need a key too; the service gets its own.
    os.environ.setdefault("ED_ALERTS_SECRET_KEY", secrets.token_hex(32))
    parts = set(cfg.only or ["service", "rules", "memory"])
    kinds = ([] if cfg.no_sqlite else ["sqlite"]) + (["postgres"] if cfg.postgres else [])
    if "postgres" in kinds and (why := postgres_reachable(cfg.pg_admin_url)):
        log(f"PostgreSQL not reachable at {cfg.pg_admin_url}: {why}; running SQLite only")
        kinds.remove("postgres")
    started = datetime.now(UTC)
    cfg.stamp = started.strftime("%Y%m%dT%H%M%SZ")
    if cfg.profile and profile_service.available() is None:
        log("--profile needs py-spy: .venv/bin/pip install py-spy")
        return 2
    t0 = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "started": started.isoformat(timespec="seconds"), "quick": cfg.quick,
            "git_commit": _git("rev-parse", "--short", "HEAD"), "git_dirty": bool(_git("status", "--porcelain")),
            "changed_files": len((_git("status", "--porcelain") or "").splitlines()),
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "databases": kinds, "loadavg_at_start": loadavg(),
            "config": {k: v for k, v in vars(cfg).items() if k not in {"pg_admin_url", "stamp"}},
        },
        "mix": describe_mix(build_mix(cfg.messages, seed=101, prefix="TP")),
        "service": {}, "rule_eval": {},
    }
    with tempfile.TemporaryDirectory(prefix="ed-alerts-bench-") as tmp:
        workdir = Path(tmp)
        snapshot_rules(workdir)
        results["meta"].update(rules_fingerprint())
        try:
            if "service" in parts:
                results["bare_peer"] = bench_bare_peer(cfg, workdir)
                for kind in kinds:
                    for i, ack in enumerate(cfg.ack):
                        label = kind if i == 0 else f"{kind} ack={ack}"
                        results["service"][label] = bench_service(kind, cfg, workdir, ack)
            if "memory" in parts:
                log("memory: building the service step by step in a fresh process...")
                results["memory_breakdown"] = memory_breakdown(workdir, 300 if not cfg.quick else 50)
            if "rules" in parts:
                for kind in kinds:
                    log(f"rule evaluation on {kind}...")
                    results["rule_eval"][kind] = rule_eval.run(
                        kind, workdir, prior=0 if cfg.skip_million else cfg.prior, children=cfg.children,
                        warmup=20 if not cfg.quick else 5, pg_admin_url=cfg.pg_admin_url, log=log)
        except BaseException:
            for name in sorted(workdir.glob("*.log")):
                log(f"--- tail of {name.name} ---\n{name.read_text(errors='replace')[-2000:]}")
            raise
    results["meta"]["seconds"] = round(time.perf_counter() - t0)
    results["meta"]["loadavg_at_end"] = loadavg()
    results["targets"] = report.evaluate_targets(results)
    print(report.render(results))
    for kind, svc_res in results["service"].items():
        if "samples" in svc_res.get("profile", {}):
            print(f"\n[{kind}] " + profile_service.render(svc_res["profile"]))
    # The committed copy is a complete run's: not a --quick one, nor one restricted with --only.
    paths = write_results(results, started, save_last=not cfg.quick and not cfg.only,
                          suffix="-quick" if cfg.quick else "-partial" if cfg.only else "")
    print("\nJSON: " + ", ".join(str(p.relative_to(REPO_ROOT)) for p in paths))
    return 0


def write_results(results: dict[str, Any], started: datetime, *, save_last: bool, suffix: str) -> list[Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, default=str) + "\n"
    stamped = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}{suffix}.json"
    paths = [stamped, RESULTS / "latest.json"]
    if save_last:
        paths.append(Path(__file__).resolve().parent / "last-run.json")
    for p in paths:
        p.write_text(text)
    return paths


if __name__ == "__main__":
    sys.exit(main())
