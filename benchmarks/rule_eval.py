"""Rule evaluation per attendance, with an empty history table and with a million earlier attendances.

For each database (SQLite; PostgreSQL with --postgres) two fresh databases are made:
- "empty": only the test children's own history (3 earlier attendances each, across sites);
- "million": the same, after 1,000,000 earlier attendances of 200,000 other patients (with an
  identifier each and a flag on one attendance in ten) seeded with bulk SQL (sqlite3 executemany,
  PostgreSQL COPY, then ANALYZE as autovacuum would).
Fresh A04s for the test children (assault, disclosure, group assault, weapon and plain visits, all
repeat attenders) then go through the real pipeline in-process (parse, link, apply); the time of
`FlagEvaluator.__call__` alone is measured inside the ingest transaction, with the repeat-attendance
count queries and the clinical NLP timed inside it. Same messages, same children, both databases,
interleaved message by message so that other load on the machine falls on both alike; the thread's
CPU time is recorded beside the wall time for the same reason. The detector's text cache is cleared
before each evaluation, so both pay for the NLP on every text (as for fresh free text).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.loadgen import percentile
from benchmarks.service import SITES_FILE, ThrowawayDatabase

BG_SITES = [("RGT01", "RGT", "hospital_ed"), ("RGT02", "RGT", "hospital_ed"),
            ("RGTMIU", "RGT", "minor_injury_unit"), ("RYC", "RYC", "ambulance"),
            ("OTHER1", "UNREGISTERED", "hospital_ed")]
BG_CLINICAL = [
    json.dumps({"diagnoses": [{"code": "S93.4", "system": "I10", "text": "Sprain of ankle"}],
                "observations": [], "notes": ["Twisted ankle playing football. NV intact."]}),
    json.dumps({"diagnoses": [{"code": "Y04", "system": "I10", "text": "Assault by bodily force"}],
                "observations": [], "notes": ["Pt states he was punched by an older boy outside school."]}),
    json.dumps({"diagnoses": [{"code": "S61.4", "system": "I10", "text": "Open wound of hand"}],
                "observations": [{"type": "CE", "code": "FEELS_SAFE", "value": "N"}],
                "notes": ["Pt tearful, won't say why."]}),
]
BG_REASONS = ["Inversion injury ankle", "Assaulted - punched in face", "Laceration to hand", "Head injury",
              "Abdominal pain", "Fall from height"]
FRESH_KINDS = ["assault", "disclosure", "group_assault", "weapon", "plain"]


# --- seeding -------------------------------------------------------------------------------------

def _bg_rows(n_attendances: int, n_patients: int, first_patient_id: int, now: datetime, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    three_years = 3 * 365 * 86400
    for i in range(n_attendances):
        site, trust, source = BG_SITES[rng.randrange(len(BG_SITES))]
        arrival = now - timedelta(seconds=rng.randrange(three_years))
        r = rng.random()
        status = "discharged" if r < 0.95 else ("cancelled" if r < 0.98 else "active")
        discharge = arrival + timedelta(minutes=rng.randint(60, 600)) if status == "discharged" else None
        k = rng.randrange(len(BG_CLINICAL))
        yield (first_patient_id + rng.randrange(n_patients), site, trust, source, site != "OTHER1",
               f"BG{i:08d}", status, arrival, discharge, "E", BG_REASONS[rng.randrange(len(BG_REASONS))],
               None, BG_CLINICAL[k], discharge or arrival, arrival, discharge or arrival)


ATT_COLS = ("patient_id, site_code, trust, source_type, registered_site, visit_number, status, arrival_time, "
            "discharge_time, patient_class, reason, conveyed_to_hospital, clinical, last_event_time, "
            "created_at, updated_at")
PAT_COLS = "family_name, given_names, birth_date, sex, address_lines, city, postcode, created_at, updated_at"
FLAG_COLS = ("attendance_id, patient_id, rule_id, rule_version, title, severity, status, uncertain, reason, "
             "evidence, requires_decision, raised_at, updated_at")


def _patients(n: int, now: datetime, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    for i in range(n):
        born = (now - timedelta(days=rng.randint(0, 90 * 365))).date()
        yield (f"Bg{i}", "Pat", born, rng.choice("MF"), "[]", "Cambridge",
               rng.choice(["CB1 2AB", "CB4 1XY", "PE27 5AA", "E8 3QP"]), now, now)


def seed_background(db: ThrowawayDatabase, n_attendances: int, *, seed: int = 5) -> dict[str, Any]:
    """Bulk-load `n_attendances` earlier attendances of n/5 patients; returns counts and seconds."""
    now = datetime.now(UTC)
    n_patients = max(1, n_attendances // 5)
    n_flags = n_attendances // 10
    t = time.perf_counter()
    if db.kind == "sqlite":
        _seed_sqlite(db, n_attendances, n_patients, n_flags, now, seed)
    else:
        _seed_postgres(db, n_attendances, n_patients, n_flags, now, seed)
    return {"attendances": n_attendances, "patients": n_patients, "identifiers": n_patients,
            "flags": n_flags, "seconds": round(time.perf_counter() - t, 1)}


def _sqlite_ts(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DateTime storage format, naive UTC (what UTCDateTime binds):
    # "YYYY-MM-DD HH:MM:SS.ffffff". isoformat is several times faster than strftime.
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _seed_sqlite(db: ThrowawayDatabase, n: int, n_patients: int, n_flags: int, now: datetime,
                 seed: int) -> None:
    import sqlite3

    conn = sqlite3.connect(db.path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # seeding only; the service runs with its own settings
    conn.execute("PRAGMA cache_size=-1000000")  # 1 GB page cache: index inserts stay in memory
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO patient ({PAT_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
        ((f, g, b.isoformat(), s, a, c, p, _sqlite_ts(ca), _sqlite_ts(ua))
         for f, g, b, s, a, c, p, ca, ua in _patients(n_patients, now, seed)))
    first = conn.execute("SELECT min(id) FROM patient").fetchone()[0]
    conn.executemany("INSERT INTO patient_identifier (patient_id, system, value) VALUES (?,?,?)",
                     ((first + i, "urn:bench:background", f"BGP{i:08d}") for i in range(n_patients)))

    def att_rows():  # type: ignore[no-untyped-def]
        for r in _bg_rows(n, n_patients, first, now, seed):
            yield (r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], _sqlite_ts(r[7]), _sqlite_ts(r[8]), r[9],
                   r[10], r[11], r[12], _sqlite_ts(r[13]), _sqlite_ts(r[14]), _sqlite_ts(r[15]))

    conn.executemany(f"INSERT INTO attendance ({ATT_COLS}) VALUES ({','.join('?' * 16)})", att_rows())
    first_att = conn.execute("SELECT min(id) FROM attendance").fetchone()[0]
    rng = random.Random(seed + 1)
    stamp = _sqlite_ts(now)
    conn.executemany(
        f"INSERT INTO flag ({FLAG_COLS}) VALUES ({','.join('?' * 13)})",
        ((first_att + a, first + rng.randrange(n_patients), "assault", "1", "Assault", "high", "active", 0,
          "Assault: background", "[]", 1, stamp, stamp)
         for a in range(0, n, 10)))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _seed_postgres(db: ThrowawayDatabase, n: int, n_patients: int, n_flags: int, now: datetime,
                   seed: int) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(db.url)
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            with cur.copy(f"COPY patient ({PAT_COLS}) FROM STDIN") as cp:
                for row in _patients(n_patients, now, seed):
                    cp.write_row(row)
            cur.execute("SELECT min(id) FROM patient")
            first = cur.fetchone()[0]  # type: ignore[index]
            with cur.copy("COPY patient_identifier (patient_id, system, value) FROM STDIN") as cp:
                for i in range(n_patients):
                    cp.write_row((first + i, "urn:bench:background", f"BGP{i:08d}"))
            with cur.copy(f"COPY attendance ({ATT_COLS}) FROM STDIN") as cp:
                for row in _bg_rows(n, n_patients, first, now, seed):
                    cp.write_row(row)
            cur.execute("SELECT min(id) FROM attendance")
            first_att = cur.fetchone()[0]  # type: ignore[index]
            rng = random.Random(seed + 1)
            with cur.copy(f"COPY flag ({FLAG_COLS}) FROM STDIN") as cp:
                for a in range(0, n, 10):
                    cp.write_row((first_att + a, first + rng.randrange(n_patients), "assault", "1", "Assault",
                                  "high", "active", False, "Assault: background", "[]", True, now, now))
        pg.commit()
        pg.autocommit = True
        with pg.cursor() as cur:
            cur.execute("ANALYZE")
    finally:
        raw.close()
        engine.dispose()


# --- the test children ---------------------------------------------------------------------------

def test_messages(n_children: int, *, seed: int = 31) -> tuple[list[bytes], list[bytes]]:
    """(history, fresh): 3 earlier attendances per child across sites, then one fresh A04 each."""
    from benchmarks.loadgen import vary_notes
    from ed_alerts.synthetic import Generator, adt

    rng = random.Random(seed)
    now = datetime.now(UTC)
    gen = Generator(seed=seed, now=now)
    history: list[bytes] = []
    fresh: list[bytes] = []
    for i in range(n_children):
        child = gen.child(age=10 + i % 8)
        for days, site in ((200, "RGT02"), (40, "RGTMIU"), (10, "RYC")):
            v = gen.visit(child, site, kind="plain", arrival=now - timedelta(days=days))
            history.append(adt(v, "A04", control_id=gen.next_id("H")))
            history.append(adt(v, "A03", control_id=gen.next_id("H"), sent=v.arrival + timedelta(hours=3)))
        v = vary_notes(gen.visit(child, "RGT01", kind=FRESH_KINDS[i % len(FRESH_KINDS)],
                                 arrival=now - timedelta(hours=1)), rng)
        fresh.append(adt(v, "A04", control_id=gen.next_id("F")))
    return history, fresh


@dataclass
class _Timings:
    evaluator_ms: list[float] = field(default_factory=list)
    evaluator_cpu_ms: list[float] = field(default_factory=list)  # this thread's CPU time: robust to load
    repeat_query_ms: list[float] = field(default_factory=list)  # each count query
    repeat_per_eval_ms: list[float] = field(default_factory=list)  # their sum per evaluation
    nlp_per_eval_ms: list[float] = field(default_factory=list)
    flags: int = 0
    repeat_acc: float = 0.0
    nlp_acc: float = 0.0


class _TimedDetector:
    """Wraps the shared detector; charges NLP time to whichever database's evaluation is running."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.current: _Timings | None = None
        self.concepts = inner.concepts

    def clear_cache(self) -> None:
        """Forget earlier results: the two databases get the same texts, and the second must not be
        served from the detector's text cache what the first paid for."""
        for obj in (self._inner, getattr(self._inner, "_detector", None)):
            if obj is not None and hasattr(obj, "cache_clear"):
                obj.cache_clear()

    def detect(self, text: str):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return self._inner.detect(text)
        finally:
            if self.current is not None:
                self.current.nlp_acc += (time.perf_counter() - t) * 1000


def _stats(values: list[float]) -> dict[str, float | int | None]:
    return {"n": len(values),
            "median_ms": round(statistics.median(values), 3) if values else None,
            "p95_ms": round(percentile(values, 95), 3) if values else None,  # type: ignore[arg-type]
            "max_ms": round(max(values), 3) if values else None}


class _Target:
    """One database under test: its services, an un-hooked ingest context for history and a timed one."""

    def __init__(self, db: ThrowawayDatabase, detector: _TimedDetector, warmup: int) -> None:
        from ed_alerts.ingest.pipeline import IngestContext
        from ed_alerts.services import Services
        from ed_alerts.settings import Settings

        self.db = db
        self.services = Services.build(Settings(database_url=db.url, sites_file=SITES_FILE))
        self.services.flags.detector = detector
        self.detector = detector
        self.timings = _Timings()
        self.warmup = warmup
        self.evaluated = 0
        self.plain = IngestContext(db=self.services.db, sites=self.services.sites, hooks=[])
        self.timed = IngestContext(db=self.services.db, sites=self.services.sites, hooks=[self._hook])

    def _hook(self, session, att, patient, event):  # type: ignore[no-untyped-def]
        tm = self.timings
        tm.repeat_acc = tm.nlp_acc = 0.0
        n_queries = len(tm.repeat_query_ms)
        self.detector.clear_cache()
        self.detector.current = tm
        _CURRENT[0] = tm
        t, c = time.perf_counter(), time.thread_time()
        result = self.services.flags(session, att, patient, event)
        ms, cpu = (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000
        self.detector.current = None
        _CURRENT[0] = None
        self.evaluated += 1
        if self.evaluated > self.warmup:
            tm.evaluator_ms.append(ms)
            tm.evaluator_cpu_ms.append(cpu)
            tm.repeat_per_eval_ms.append(tm.repeat_acc)
            tm.nlp_per_eval_ms.append(tm.nlp_acc)
            tm.flags += len(result)
        else:
            del tm.repeat_query_ms[n_queries:]

    def summary(self) -> dict[str, Any]:
        tm = self.timings
        return {
            "evaluator": _stats(tm.evaluator_ms),
            "evaluator_cpu": _stats(tm.evaluator_cpu_ms),
            "repeat_query_each": _stats(tm.repeat_query_ms),
            "repeat_queries_per_evaluation": round(len(tm.repeat_query_ms) / max(1, len(tm.evaluator_ms)), 2),
            "repeat_query_per_evaluation": _stats(tm.repeat_per_eval_ms),
            "nlp_per_evaluation": _stats(tm.nlp_per_eval_ms),
            "evaluator_without_nlp": _stats([e - n for e, n in zip(tm.evaluator_ms, tm.nlp_per_eval_ms,
                                                                    strict=True)]),
            "flags_raised": tm.flags,
            "repeat_query_plan": _repeat_query_plan(self.services.db),
        }


_CURRENT: list[_Timings | None] = [None]  # the evaluation running now (one thread), for the query timer


def measure(targets: list[_Target], history: list[bytes], fresh: list[bytes]) -> None:
    """History into every database (no hooks), then each fresh A04 into each database in turn, so
    background load on the machine falls on both alike."""
    import ed_alerts.flags.evaluator as evaluator_module
    from ed_alerts.ingest.models import ContentType
    from ed_alerts.ingest.pipeline import ingest

    original_counter = evaluator_module.prior_attendance_counter

    def timed_counter(session, att, arrival, windows=()):  # type: ignore[no-untyped-def]
        count = original_counter(session, att, arrival, windows)

        def timed(window):  # type: ignore[no-untyped-def]
            t, queries = time.perf_counter(), count.queries
            try:
                return count(window)
            finally:
                ms = (time.perf_counter() - t) * 1000
                tm = _CURRENT[0]
                if tm is not None:
                    if count.queries > queries:  # a database round trip, not an answer from the first
                        tm.repeat_query_ms.append(ms)
                    tm.repeat_acc += ms
        return timed

    evaluator_module.prior_attendance_counter = timed_counter
    try:
        for target in targets:
            for raw in history:
                ingest(target.plain, raw, ContentType.HL7V2, "file")
        for raw in fresh:
            for target in targets:
                outcome = ingest(target.timed, raw, ContentType.HL7V2, "file")
                if not outcome.accepted:
                    raise RuntimeError(f"fresh message not accepted: {outcome.reason}")
    finally:
        evaluator_module.prior_attendance_counter = original_counter


def _repeat_query_plan(db: Any) -> str:
    """The database's plan for the repeat-attendance count, to show the index is used."""
    from sqlalchemy import case, func, select

    from ed_alerts.attendances.models import Attendance, AttendanceStatus

    now = datetime.now(UTC)
    windows = (timedelta(days=28), timedelta(days=365))
    sums = [func.coalesce(func.sum(case((Attendance.arrival_time >= now - w, 1), else_=0)), 0) for w in windows]
    stmt = select(*sums).where(
        Attendance.patient_id == 1, Attendance.arrival_time >= now - timedelta(days=365),
        Attendance.arrival_time < now, Attendance.id != 1, Attendance.status != AttendanceStatus.CANCELLED)
    with db.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.params
        if conn.dialect.name == "sqlite":
            # The plan depends on the query's shape, not its values; datetimes as SQLite stores them.
            args = tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                         for v in (params[k] for k in compiled.positiontup or []))
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), args).all()
            return "; ".join(str(r[-1]) for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), dict(params)).all()
        return " | ".join(r[0].strip() for r in rows)


def run(kind: str, workdir: Path, *, prior: int, children: int, warmup: int, pg_admin_url: str,
        log: Any = print) -> dict[str, Any]:
    import ed_alerts.db.models  # noqa: F401 - every table mapped, as in the service

    history, fresh = test_messages(children + warmup)
    out: dict[str, Any] = {"database": kind, "children": children, "warmup": warmup,
                           "history_per_child": 3, "prior_background_attendances": prior}
    labels = [("empty", 0)] + ([("prior", prior)] if prior else [])
    dbs: list[ThrowawayDatabase] = []
    targets: list[_Target] = []
    try:
        detector: _TimedDetector | None = None
        for label, n in labels:
            db = ThrowawayDatabase(kind, workdir, pg_admin_url=pg_admin_url, label=f"rules{n}")
            dbs.append(db)
            db.upgrade()
            if n:
                log(f"  seeding {n:,} earlier attendances into {kind} (bulk SQL)...")
                out["seed"] = seed_background(db, n)
                log(f"  seeded in {out['seed']['seconds']} s")
            if detector is None:
                from ed_alerts.services import load_rules
                from ed_alerts.settings import Settings

                detector = _TimedDetector(load_rules(Settings().rules_dir)[1])
            targets.append(_Target(db, detector, warmup))
        log(f"  timing FlagEvaluator on {kind}: {children} fresh attendances (+{warmup} warm-up) into "
            + " and ".join(f"{label} ({n:,} background)" for label, n in labels) + ", interleaved...")
        measure(targets, history, fresh)
        for (label, _), target in zip(labels, targets, strict=True):
            out[label] = target.summary()
            out[label]["database_bytes"] = target.db.size_bytes()
    finally:
        for target in targets:
            target.services.close()
        for db in dbs:
            db.drop()
    if prior:
        e, p = out["empty"]["evaluator"], out["prior"]["evaluator"]
        out["ratio_median"] = round(p["median_ms"] / e["median_ms"], 2) if e["median_ms"] else None
        out["ratio_p95"] = round(p["p95_ms"] / e["p95_ms"], 2) if e["p95_ms"] else None
        ec, pc = out["empty"]["evaluator_cpu"], out["prior"]["evaluator_cpu"]
        out["ratio_median_cpu"] = round(pc["median_ms"] / ec["median_ms"], 2) if ec["median_ms"] else None
    return out
