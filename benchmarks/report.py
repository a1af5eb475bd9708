"""The printed table and the target verdicts (reported, never asserted)."""

from __future__ import annotations

from typing import Any

MB = "MB"


def _fmt(v: Any, unit: str = "", nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        s = f"{v:,.{nd}f}"
    elif isinstance(v, int):
        s = f"{v:,}"
    else:
        s = str(v)
    return f"{s} {unit}".rstrip()


def _trio(d: dict[str, Any] | None, keys: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    if not d or d.get("n", 0) == 0:
        return "-"
    return " / ".join(_ms(d.get(k)) for k in keys)


def _ms(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v / 1000:.1f} s" if v >= 10_000 else f"{v:.1f}" if v < 1000 else f"{v:,.0f}"


def _rate_row(svc: dict[str, Any], rate: float) -> dict[str, Any] | None:
    for r in svc.get("fixed_rate", []):
        if r["offered_rate"] == rate:
            return r
    return None


def _not_aa(svc: dict[str, Any]) -> int:
    runs = [svc.get("throughput", {}), svc.get("catch_up", {})] + list(svc.get("fixed_rate", []))
    return sum(n for r in runs for code, n in (r.get("acks") or {}).items() if code != "AA") + sum(
        n for r in runs for n in (r.get("errors") or {}).values())


def evaluate_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per target and database: value, target and whether it was met."""
    out: list[dict[str, Any]] = []
    bare = (res.get("bare_peer") or {}).get("msg_per_s")

    def add(name: str, db: str, value: Any, target: str, met: bool | None) -> None:
        out.append({"target": name, "database": db, "value": value, "goal": target, "met": met})

    for db, svc in res.get("service", {}).items():
        tp = (svc.get("throughput") or {}).get("msg_per_s")
        if tp and bare:
            ratio = round(tp / bare, 4)
            add(f"throughput ratio ours / bare peer (ACK after {svc.get('ack', 'processed')})", db, ratio,
                ">= 0.5" + (" (SQLite)" if db.startswith("sqlite") else ""), ratio >= 0.5)
        r50 = _rate_row(svc, 50.0)
        if r50:
            p99 = r50["ack_latency_ms"]["p99"]
            add("ACK p99 at 50 msg/s", db, p99, "< 50 ms", p99 is not None and p99 < 50 and not r50["saturated"])
        for rate in (10.0, 50.0):
            r = _rate_row(svc, rate)
            if r:
                p99 = r["time_to_flag_ms"]["p99"]
                add(f"time to flag p99 at {rate:g} msg/s", db, p99, "< 1000 ms",
                    p99 is not None and p99 < 1000 and not r["saturated"])
        if "peak_rss_mb" in svc:
            add("peak resident memory", db, svc["peak_rss_mb"], "< 800 MB", svc["peak_rss_mb"] < 800)
    for db, ev in res.get("rule_eval", {}).items():
        if ev.get("prior_background_attendances"):
            add(f"rule eval median, {ev['prior_background_attendances']:,} prior / empty", db,
                ev.get("ratio_median"), "<= 1.5", ev.get("ratio_median") is not None and ev["ratio_median"] <= 1.5)
        big = ev.get("prior") if ev.get("prior_background_attendances") else ev.get("empty")
        if big:
            med = big["evaluator"]["median_ms"]
            add("rule eval median per attendance (FlagEvaluator.__call__)", db, med, "< 5 ms", med < 5)
            rq = big["repeat_query_per_evaluation"]["median_ms"]
            add("repeat-attendance queries median per attendance", db, rq, "< 5 ms", rq < 5)
    return out


def render(res: dict[str, Any]) -> str:
    dbs = list(res.get("service", {}).keys()) or list(res.get("rule_eval", {}).keys())
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    rows: list[tuple[str, list[str], str]] = []  # metric, one cell per db, target
    svc = res.get("service", {})
    bare = res.get("bare_peer")

    def row(metric: str, cells: list[str], target: str = "") -> None:
        rows.append((metric, cells, target))

    if bare:
        row("Throughput, bare python-hl7 peer (parse + ACK)", [_fmt(bare["msg_per_s"], "msg/s")] * len(dbs))
    if svc:
        row("Throughput, ed-alerts (ACK after commit)",
            [_fmt(svc[d]["throughput"]["msg_per_s"], "msg/s") if d in svc else "-" for d in dbs])
        if bare:
            row("  ratio ours / bare peer",
                [_fmt(svc[d]["throughput"]["msg_per_s"] / bare["msg_per_s"], nd=3) if d in svc else "-"
                 for d in dbs], ">= 0.5 (SQLite)")
        row("  messages applied and evaluated, msg/s (sustainable rate)",
            [_fmt(svc[d]["throughput"].get("processed_msg_per_s"), "msg/s") if d in svc else "-" for d in dbs])
        if bare:
            row("  ratio applied / bare peer",
                [_fmt(svc[d]["throughput"]["processed_msg_per_s"] / bare["msg_per_s"], nd=3)
                 if d in svc and svc[d]["throughput"].get("processed_msg_per_s") else "-" for d in dbs])
        if bare and bare.get("server_cpu_ms_per_msg"):
            row("  server CPU per message: ours (bare peer) ms",
                [f"{svc[d]['throughput'].get('server_cpu_ms_per_msg', 0):.2f} ({bare['server_cpu_ms_per_msg']:.3f})"
                 if d in svc else "-" for d in dbs])
            row("    of which the listener process (store, check, ACK) ms",
                [_fmt(svc[d]["throughput"].get("listener_cpu_ms_per_msg"), nd=2) if d in svc else "-"
                 for d in dbs])
        row("  closed-loop ACK latency p50 / p95 / p99 ms",
            [_trio(svc[d]["throughput"]["latency_ms"]) if d in svc else "-" for d in dbs])
        rates = [r["offered_rate"] for r in next(iter(svc.values())).get("fixed_rate", [])]
        for rate in rates:
            cells = []
            for d in dbs:
                r = _rate_row(svc.get(d, {}), rate)
                if not r:
                    cells.append("-")
                    continue
                sat = " SATURATED" if r["saturated"] else ""
                cells.append(_trio(r["ack_latency_ms"]) + f" ({r['achieved_msg_per_s']:g}/s{sat})")
            row(f"ACK latency @{rate:g} msg/s p50 / p95 / p99 ms", cells, "p99 < 50 ms @50" if rate == 50 else "")
        for rate in rates:
            cells = []
            for d in dbs:
                r = _rate_row(svc.get(d, {}), rate)
                cells.append(_trio(r["time_to_flag_ms"], ("p50", "p99")) + f"  (n={r['time_to_flag_ms']['n']})"
                             if r else "-")
            row(f"Time to flag @{rate:g} msg/s p50 / p99 ms", cells, "p99 < 1000 ms")
        row("ACKs other than AA over the whole run (should be 0)",
            [str(_not_aa(svc[d])) if d in svc else "-" for d in dbs])
        row("Peak resident memory (service process)",
            [_fmt(svc[d].get("peak_rss_mb"), MB) if d in svc else "-" for d in dbs], "< 800 MB")
        row("  idle after start", [_fmt(svc[d].get("idle_rss_mb"), MB) if d in svc else "-" for d in dbs])
        cu = {d: svc[d].get("catch_up") for d in dbs if d in svc}
        row("Catch-up: backlog drained, time, rate",
            [(f"{c.get('drained', c['backlog']):,} of {c['backlog']:,} in {c['drain_s']:,.0f} s "
              f"({c['drain_msg_per_s']:g}/s{', time cap' if c.get('time_capped') else ''})") if c else "-"
             for c in (cu.get(d) for d in dbs)])
        row("  restart to ready", [_fmt(c["restart_s"], "s", 2) if c else "-" for c in (cu.get(d) for d in dbs)])
        row("  the whole backlog (restart + drain; extrapolated if capped)",
            [f"~{c.get('extrapolated_backlog_s', 0) / 60:.1f} min" if c else "-" for c in (cu.get(d) for d in dbs)])
        row("  100,000 backlog acknowledged (restart + drain, extrapolated)",
            [f"~{c['extrapolated_100k_minutes']:g} min" if c else "-" for c in (cu.get(d) for d in dbs)])
        row("  100,000 backlog applied and evaluated (extrapolated)",
            [f"~{c['extrapolated_100k_processed_minutes']:g} min ({c['processed_msg_per_s']:g}/s)"
             if c and c.get("extrapolated_100k_processed_minutes") else "-" for c in (cu.get(d) for d in dbs)])
    ev = res.get("rule_eval", {})
    if ev:
        prior = next(iter(ev.values())).get("prior_background_attendances", 0)
        for label, key in (("empty history", "empty"), (f"{prior:,} earlier attendances", "prior")):
            if key == "prior" and not prior:
                continue
            row(f"Rule eval per attendance, {label}: median / p95 ms",
                [_trio(ev[d][key]["evaluator"], ("median_ms", "p95_ms")) if d in ev else "-" for d in dbs],
                "median < 5 ms")
            row("  of which clinical NLP: median / p95 ms",
                [_trio(ev[d][key]["nlp_per_evaluation"], ("median_ms", "p95_ms")) if d in ev else "-" for d in dbs])
            row("  of which repeat-attendance queries: median / p95 ms",
                [_trio(ev[d][key]["repeat_query_per_evaluation"], ("median_ms", "p95_ms")) if d in ev else "-"
                 for d in dbs])
        if prior:
            row("  ratio prior / empty (median, p95)",
                [f"{ev[d]['ratio_median']} , {ev[d]['ratio_p95']} (CPU median {ev[d].get('ratio_median_cpu')})"
                 if d in ev else "-" for d in dbs], "<= 1.5")
    width = max(len(r[0]) for r in rows) if rows else 40
    colw = [max([len(names.get(d, d))] + [len(r[1][i]) for r in rows if i < len(r[1])]) for i, d in enumerate(dbs)]
    lines = []
    meta = res.get("meta", {})
    lines.append(f"ed-alerts benchmark  {meta.get('started', '')}  commit {meta.get('git_commit')}"
                 f"{' (dirty)' if meta.get('git_dirty') else ''}  {meta.get('cpus')} CPUs  Python "
                 f"{meta.get('python')}{'  QUICK (smoke numbers)' if meta.get('quick') else ''}")
    model = meta.get("nlp_model") or {}
    if meta.get("rules_sha256"):
        lines.append(f"rules {meta['rules_sha256']}, NLP sentence model "
                     f"{'ENABLED (threshold ' + str(model.get('threshold')) + ')' if model.get('enabled') else 'disabled'}"
                     f", {meta.get('changed_files', 0)} uncommitted files in the tree")
    la = meta.get("loadavg_at_start")
    if la:
        lines.append(f"load average at start {la[0]:.2f}, at end {(meta.get('loadavg_at_end') or [0])[0]:.2f} "
                     f"on {meta.get('cpus')} CPUs")
        if la[0] > (meta.get("cpus") or 1) * 0.5:  # the run's own load shows at the end, not at the start
            lines.append("WARNING: other work was running on this machine; wall-clock figures are pessimistic "
                         "(the CPU-per-message and CPU ratio figures are less affected)")
    mix = res.get("mix", {})
    if mix:
        lines.append(f"mix: {mix.get('events')} children {mix.get('a04_children_share'):.0%} of A04s, "
                     f"kinds {mix.get('a04_kinds')}, repeat attendances {mix.get('a04_repeat_attendances')}, "
                     f"~{mix.get('mean_bytes')} bytes/message")
    header = "  ".join([" " * width] + [names.get(d, d).ljust(colw[i]) for i, d in enumerate(dbs)] + ["target"])
    lines.append("")
    lines.append(header)
    lines.append("-" * len(header))
    for metric, cells, target in rows:
        padded = [c.ljust(colw[i]) for i, c in enumerate(cells)] + [""] * (len(dbs) - len(cells))
        lines.append("  ".join([metric.ljust(width)] + padded + [target]).rstrip())
    mem = res.get("memory_breakdown", {})
    if mem.get("steps"):
        lines.append("")
        lines.append("What takes the memory (RSS after each step of building the service, fresh process):")
        for s in mem["steps"]:
            lines.append(f"  {s['rss_mb']:7.1f} MB  (+{s['delta_mb']:6.1f})  {s['step']}")
    targets = res.get("targets", [])
    if targets:
        lines.append("")
        lines.append("Targets (reported, not asserted):")
        for t in targets:
            verdict = "met" if t["met"] else "MISSED" if t["met"] is False else "n/a"
            lines.append(f"  [{verdict:6s}] {names.get(t['database'], t['database']):10s} {t['target']}: "
                         f"{_fmt(t['value'], nd=3)} (goal {t['goal']})")
    lines.append(f"\nrun took {meta.get('seconds', '?')} s")
    return "\n".join(lines)
