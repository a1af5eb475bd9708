"""The message mix and the MLLP load drivers, shared by the service and the bare python-hl7 peer.

The mix is built from `ed_alerts.synthetic` (Generator + adt), not a copy of it: children and adults,
plain injuries, assaults, group assaults, weapons and disclosures in free text, a pool of children
who re-attend across sites (ED, minor injury unit, ambulance), each visit registered (A04), some
updated (A08, sometimes with a later disclosure in a note) and most discharged (A03). Events are
ordered by their time in a simulated span of days, so repeats fall inside the repeat-attendance
windows and a visit's A08/A03 follow its A04.

Drivers (asyncio, the project's own `AsyncMLLPClient`, one message in flight per connection):
- `closed_loop`: N connections pull from one queue as fast as ACKs come back (throughput, catch-up);
- `open_loop`: Poisson arrivals at a fixed offered rate over a pool of connections; latency runs
  from the *scheduled* send time, so a message that waited for a free connection is charged for it
  (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import copy
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ed_alerts.synthetic import Generator, Visit, adt
from integrations.mllp import AsyncMLLPClient

# Sites of config/sites.example.yaml, weighted roughly like a county's feeds.
SITES = [("RGT01", 0.40), ("RGT02", 0.30), ("RGTMIU", 0.15), ("RYC", 0.15)]
KINDS = [("plain", 0.58), ("assault", 0.15), ("group_assault", 0.08), ("disclosure", 0.12), ("weapon", 0.07)]
CHILD_SHARE = 0.75  # ED attendances that are children; adults are evaluated too (and skipped by age)
REPEAT_SHARE = 0.20  # child visits by a child from the repeat-attender pool
A08_SHARE = 0.30
A03_SHARE = 0.85
LATE_DISCLOSURE_SHARE = 0.10  # of A08s on plain visits: a note added later holds a disclosure

EXTRA_PLAIN_NOTES = [
    "Fell off scooter at the skate park. Mum present. No safeguarding concerns.",
    "Denies being hit or kicked, injury consistent with the history given.",
    "Playing rugby at school, tackled awkwardly. Seen with dad.",
    "Trapped finger in a car door. Good explanation, prompt presentation.",
]
LATE_DISCLOSURES = [
    "On review with the nurse alone pt said he was jumped by older boys he owes money to.",
    "Pt disclosed she does not feel safe at home and asked us not to tell her mum.",
    "Later told the nurse he was threatened with a knife on the estate last week.",
]


COMPANIONS = ["Attended with mum.", "Attended with dad.", "Came in with a friend.", "Arrived by ambulance.",
              "Walked in with grandmother.", "Sent in by the school nurse.", "Attended with carer.", "Came alone."]


def clinical_note(rng: random.Random, core: str) -> str:
    """A triage note around `core`: time, who came, observations. Every visit's text differs, as real
    free text does (the detector caches by text, so repeating a handful of notes would measure the
    cache, not the NLP); A08/A03 resend the visit's notes unchanged, as feeds do."""
    return (f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} triage. {core} {rng.choice(COMPANIONS)} "
            f"Obs HR {rng.randint(60, 135)} RR {rng.randint(12, 28)} SpO2 {rng.randint(94, 100)}% "
            f"T {rng.randint(360, 389) / 10:.1f}, pain {rng.randint(0, 10)}/10.")


def vary_notes(visit: Visit, rng: random.Random) -> Visit:
    visit.notes = [clinical_note(rng, n) for n in visit.notes]
    return visit


@dataclass
class Msg:
    raw: bytes
    control_id: str
    sender: str
    event: str
    child: bool
    kind: str
    repeat: bool
    expect_flag: bool  # a child's A04 the rule pack should flag (content or repeat attendance)


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def build_mix(n_messages: int, *, seed: int, prefix: str, span_days: float = 30.0,
              now: datetime | None = None) -> list[Msg]:
    """`n_messages` HL7 v2 messages (A04/A08/A03), unique control ids starting with `prefix`.

    Each phase of a run uses its own seed and prefix so visits and control ids never collide with an
    earlier phase (a collision would be answered as a duplicate, which is cheaper than real work).
    """
    now = now or datetime.now(UTC)
    gen = Generator(seed=seed, now=now)
    rng = random.Random(seed * 7919 + 1)
    # ~1.15 messages per visit on average (A04 + 0.3 A08 + 0.85 A03 -> ~2.15); build enough visits.
    n_visits = max(1, int(n_messages / (1 + A08_SHARE + A03_SHARE) * 1.08) + 5)
    start = now - timedelta(days=span_days)
    step = timedelta(days=span_days) / n_visits
    repeat_pool = [gen.child(age=rng.randint(11, 17)) for _ in range(max(3, n_visits // 25))]
    attended: set[int] = set()
    events: list[tuple[datetime, int, Msg]] = []
    order = 0

    def emit(visit: Visit, event: str, when: datetime, *, child: bool, kind: str, repeat: bool,
             expect: bool) -> None:
        nonlocal order
        control_id = gen.next_id(prefix)
        raw = adt(visit, event, control_id=control_id, sent=when)
        events.append((when, order, Msg(raw, control_id, visit.site, event, child, kind, repeat, expect)))
        order += 1

    for i in range(n_visits):
        arrival = start + step * i + timedelta(seconds=rng.randint(0, 59))
        site = _pick(rng, SITES)
        kind = _pick(rng, KINDS)
        is_child = rng.random() < CHILD_SHARE
        repeat = False
        if is_child and rng.random() < REPEAT_SHARE:
            idx = rng.randrange(len(repeat_pool))
            person = repeat_pool[idx]
            repeat = idx in attended  # flagged from the second attendance within 28 days
            attended.add(idx)
        elif is_child:
            person = gen.child(age=rng.randint(1, 17), away=rng.random() < 0.05,
                               with_nhs=rng.random() < 0.9)
        else:
            person = gen.child(age=rng.randint(18, 80), with_nhs=rng.random() < 0.9)
        visit = gen.visit(person, site, kind=kind, arrival=arrival)
        if kind == "plain" and rng.random() < 0.5:
            visit.notes = visit.notes + [rng.choice(EXTRA_PLAIN_NOTES)]
        vary_notes(visit, rng)
        expect = is_child and (kind != "plain" or repeat)
        emit(visit, "A04", arrival, child=is_child, kind=kind, repeat=repeat, expect=expect)
        if rng.random() < A08_SHARE:
            updated = copy.deepcopy(visit)
            if kind == "plain" and rng.random() < LATE_DISCLOSURE_SHARE:
                updated.notes = updated.notes + [clinical_note(rng, rng.choice(LATE_DISCLOSURES))]
            else:
                updated.observations = updated.observations + [("NM", "PAIN", "Pain score", str(rng.randint(1, 9)))]
            emit(updated, "A08", arrival + timedelta(minutes=rng.randint(20, 90)), child=is_child,
                 kind=kind, repeat=repeat, expect=False)
        if rng.random() < A03_SHARE:
            emit(visit, "A03", arrival + timedelta(minutes=rng.randint(120, 300)), child=is_child,
                 kind=kind, repeat=repeat, expect=False)
    events.sort(key=lambda e: (e[0], e[1]))
    return [m for _, _, m in events[:n_messages]]


def describe_mix(msgs: list[Msg]) -> dict[str, object]:
    a04 = [m for m in msgs if m.event == "A04"]
    return {
        "messages": len(msgs),
        "events": dict(Counter(m.event for m in msgs)),
        "a04_children_share": round(sum(m.child for m in a04) / max(1, len(a04)), 3),
        "a04_kinds": dict(Counter(m.kind for m in a04)),
        "a04_repeat_attendances": sum(m.repeat for m in a04),
        "a04_expected_flagged": sum(m.expect_flag for m in a04),
        "sites": dict(Counter(m.sender for m in msgs)),
        "mean_bytes": round(sum(len(m.raw) for m in msgs) / max(1, len(msgs))),
        "distinct_note_texts": len({seg for m in msgs for seg in m.raw.split(b"\r") if seg.startswith(b"NTE")}),
    }


def ack_code(ack: bytes) -> str:
    for seg in ack.split(b"\r"):
        if seg.startswith(b"MSA"):
            parts = seg.split(b"|")
            return parts[1].decode("ascii", "replace") if len(parts) > 1 else "?"
    return "?"


@dataclass
class RunResult:
    sent: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    acks: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    progress: list[tuple[int, float]] = field(default_factory=list)  # (messages done, seconds)
    offered: int = 0  # open loop: messages scheduled and sent
    saturated: bool = False  # open loop: stopped offering because the backlog passed its bound
    capped: bool = False  # closed loop: stopped sending at max_seconds, before the list ran out

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0


OnAck = Callable[[Msg, float, float, bytes], Awaitable[None] | None]


async def closed_loop(host: str, port: int, msgs: list[Msg], *, connections: int = 4,
                      timeout: float = 120.0, min_seconds: float = 0.0, max_seconds: float = 0.0,
                      progress_every: int = 0, on_ack: OnAck | None = None) -> RunResult:
    """Each connection sends its next message as soon as the previous ACK arrives.

    With `min_seconds` the list is cycled until that long has passed (used for the fast bare peer,
    which does not deduplicate; never for the service, where a resend would be a cheap duplicate).
    With `max_seconds` no new message is sent after that long (`capped`); those in flight finish.
    """
    result = RunResult()
    queue_index = 0
    total = len(msgs)
    t0 = time.perf_counter()

    def next_msg() -> Msg | None:
        nonlocal queue_index
        if max_seconds and queue_index < total and time.perf_counter() - t0 > max_seconds:
            result.capped = True
            return None
        if queue_index >= total:
            if min_seconds and time.perf_counter() - t0 < min_seconds:
                queue_index = 0
            else:
                return None
        m = msgs[queue_index]
        queue_index += 1
        return m

    async def worker() -> None:
        client = AsyncMLLPClient(host, port, timeout=timeout)
        try:
            while (m := next_msg()) is not None:
                t = time.perf_counter()
                try:
                    ack = await client.send(m.raw)
                except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                    result.errors[type(exc).__name__] += 1
                    continue
                done = time.perf_counter()
                result.latencies_ms.append((done - t) * 1000)
                result.acks[ack_code(ack)] += 1
                result.sent += 1
                if progress_every and result.sent % progress_every == 0:
                    result.progress.append((result.sent, done - t0))
                if on_ack is not None:
                    maybe = on_ack(m, t, done, ack)
                    if maybe is not None:
                        await maybe
        finally:
            await client.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - t0
    return result


async def open_loop(host: str, port: int, msgs: list[Msg], *, rate: float, duration_s: float,
                    connections: int = 8, seed: int = 1, timeout: float = 60.0,
                    max_backlog_s: float = 5.0, on_ack: OnAck | None = None) -> RunResult:
    """Poisson arrivals at `rate` messages a second for `duration_s` (or until `msgs` run out).

    Latency = ACK received - scheduled send time. A bounded pool of connections (feeds) carries the
    messages; if all are busy the message waits, and the wait is part of its latency. When more than
    `max_backlog_s` seconds' worth of messages are outstanding the service cannot keep up: offering
    stops (`saturated`), the outstanding ones are still answered and counted, and the run ends.
    """
    rng = random.Random(seed)
    schedule: list[float] = []
    t = 0.0
    while len(schedule) < len(msgs):
        t += rng.expovariate(rate)
        if t > duration_s:
            break
        schedule.append(t)
    result = RunResult()
    pool: asyncio.Queue[AsyncMLLPClient] = asyncio.Queue()
    clients = [AsyncMLLPClient(host, port, timeout=timeout) for _ in range(connections)]
    for c in clients:
        await c.connect()
        pool.put_nowait(c)
    tasks: list[asyncio.Task[None]] = []
    outstanding = 0
    t0 = time.perf_counter()

    async def one(m: Msg, scheduled: float) -> None:
        nonlocal outstanding
        client = await pool.get()
        try:
            ack = await client.send(m.raw)
        except Exception as exc:  # noqa: BLE001
            result.errors[type(exc).__name__] += 1
            return
        finally:
            pool.put_nowait(client)
            outstanding -= 1
        done = time.perf_counter()
        result.latencies_ms.append((done - scheduled) * 1000)
        result.acks[ack_code(ack)] += 1
        result.sent += 1
        if on_ack is not None:
            maybe = on_ack(m, scheduled, done, ack)
            if maybe is not None:
                await maybe

    for m, offset in zip(msgs, schedule, strict=False):
        delay = t0 + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if outstanding > max(connections, rate * max_backlog_s):
            result.saturated = True
            break
        outstanding += 1
        result.offered += 1
        tasks.append(asyncio.create_task(one(m, t0 + offset)))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - t0
    for c in clients:
        await c.close()
    return result


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def summary_ms(values: list[float]) -> dict[str, float | int | None]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    return {"n": len(values), "p50": r(percentile(values, 50)), "p95": r(percentile(values, 95)),
            "p99": r(percentile(values, 99)), "max": r(max(values) if values else None)}
