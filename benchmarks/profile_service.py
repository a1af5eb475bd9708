"""`run.py --profile`: py-spy on the service process during the throughput run, summarised.

Samples only stacks that hold the GIL (`--gil`): the service is one Python process, so GIL time is
what bounds its throughput. The raw collapsed stacks are kept (benchmarks/results/profile-*.txt; feed
them to flamegraph.pl or speedscope) and summarised by where the time goes.

py-spy is not a dependency of the project: `.venv/bin/pip install py-spy`.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Each sample is charged to its innermost recognisable frame: the SQL that the evaluator or the audit
# log issues counts as "database", their own Python as themselves. The inclusive list of the service's
# functions shows which stage issued what.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("clinical NLP (spaCy/medspaCy detector)", ("spacy", "medspacy", "PyRuSH", "PyFastNER", "evaluation/text/")),
    ("HL7 v2 parse (hl7apy + adapter)", ("hl7apy", "integrations/hl7v2", "hl7v2/")),
    ("audit log (hash chain)", ("ed_alerts/audit", "audit/")),
    ("rule engine (predicates, value sets)", ("ed_alerts/evaluation", "evaluation/")),
    ("flags: evaluator upserts, decisions", ("flags/evaluator", "flags/")),
    ("referrals / scheduler", ("referrals/", "scheduler/", "apscheduler")),
    ("identity + attendance apply", ("patients/", "attendances/service")),
    ("database: SQLAlchemy ORM + driver", ("sqlalchemy", "sqlite3", "psycopg")),
    ("pydantic / JSON", ("pydantic", "json/")),
    ("HTTP (uvicorn, FastAPI, starlette)", ("uvicorn", "fastapi", "starlette", "httpx", "h11")),
    ("MLLP + asyncio event loop", ("integrations/mllp", "mllp/", "asyncio")),
    ("ingest pipeline (other)", ("ingest/",)),
]


def available() -> str | None:
    exe = Path(sys.executable).with_name("py-spy")
    if exe.exists():
        return str(exe)
    return shutil.which("py-spy")


def start(pid: int, out: Path, *, rate: int = 100) -> subprocess.Popen[bytes]:
    exe = available()
    if exe is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--gil", "--function", "--format", "raw",
                             "--rate", str(rate), "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return (err or b"").decode(errors="replace")[-500:]


def _frames(stack: str) -> list[str]:
    return stack.split(";")


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """Share of GIL-holding samples per category, the hottest leaf functions, and the service's own
    functions by inclusive share."""
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        n = int(count_s)
        total += n
        frames = _frames(stack)
        leaves[frames[-1]] += n
        for f in set(frames):
            if "ed_alerts" in f or "integrations" in f:
                inclusive[f] += n
        categories[_categorise(frames)] += n
    pct = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "by_category_pct": {k: pct(v) for k, v in categories.most_common()},
        "top_leaf_functions_pct": [[k, pct(v)] for k, v in leaves.most_common(top)],
        "top_service_functions_inclusive_pct": [[k, pct(v)] for k, v in inclusive.most_common(top)],
    }


def _categorise(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(n in frame for n in needles):
                return name
    return "other (interpreter, threads, logging)"


def render(summary: dict[str, Any]) -> str:
    lines = [f"Where the service's GIL time goes (py-spy --gil, {summary['samples']:,} samples, throughput run):"]
    for k, v in summary["by_category_pct"].items():
        lines.append(f"  {v:5.1f}%  {k}")
    lines.append("  hottest functions (self):")
    for k, v in summary["top_leaf_functions_pct"][:10]:
        lines.append(f"  {v:5.1f}%  {k}")
    lines.append("  service functions (inclusive):")
    for k, v in summary["top_service_functions_inclusive_pct"][:12]:
        lines.append(f"  {v:5.1f}%  {k}")
    return "\n".join(lines)
