"""What takes the service's resident memory: builds the service step by step in a fresh process and
prints the RSS after each step as JSON (one line). Run by benchmarks/run.py; by hand:

    ED_ALERTS_DATABASE_URL=sqlite:////tmp/x.db .venv/bin/python -m ed_alerts db upgrade
    ED_ALERTS_DATABASE_URL=sqlite:////tmp/x.db .venv/bin/python benchmarks/memory_profile.py --messages 300
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_proc = psutil.Process()
steps: list[dict[str, object]] = []


_HEAVY = ("fastapi", "uvicorn", "sqlalchemy", "pydantic", "httpx", "hl7apy", "fhir.resources", "spacy",
          "medspacy", "PyRuSH", "numpy", "thinc", "psycopg")
_seen: set[str] = set()


def mark(label: str) -> None:
    gc.collect()
    rss = _proc.memory_info().rss
    prev = steps[-1]["rss_mb"] if steps else 0.0
    new = [m for m in _HEAVY if m in sys.modules and m not in _seen]
    _seen.update(new)
    steps.append({"step": label, "rss_mb": round(rss / 2**20, 1), "delta_mb": round(rss / 2**20 - prev, 1),
                  "newly_imported": new})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("ED_ALERTS_SITES_FILE", str(Path(__file__).resolve().parent.parent / "config"
                                                      / "sites.example.yaml"))
    mark("python interpreter + psutil")
    import fastapi  # noqa: F401
    import httpx  # noqa: F401
    import pydantic  # noqa: F401
    import sqlalchemy  # noqa: F401
    import uvicorn  # noqa: F401
    mark("web + database libraries imported (FastAPI, uvicorn, SQLAlchemy, pydantic, httpx)")
    from ed_alerts.app import create_app
    from ed_alerts.settings import get_settings
    mark("ed_alerts.app imported (service modules, hl7apy, fhir.resources)")
    from integrations import hl7v2

    hl7v2.warm_up()
    mark("hl7apy structure tables loaded (hl7v2.warm_up)")
    from ed_alerts.services import Services, load_rules

    settings = get_settings()
    load_rules(settings.rules_dir)
    mark("rule pack + clinical NLP pipeline built (spaCy/medspaCy: tokenizer, PyRuSH, target + context rules)")
    services = Services.build(settings)
    create_app(settings, services=services)
    mark("rest of Services.build + FastAPI app (DB engine, site registry, routes)")
    if args.messages:
        from benchmarks.loadgen import build_mix
        from ed_alerts.ingest.models import ContentType
        from ed_alerts.ingest.pipeline import ingest

        for m in build_mix(args.messages, seed=97, prefix="MEM"):
            ingest(services.ingest, m.raw, ContentType.HL7V2, "mllp")
        mark(f"after ingesting {args.messages} messages in-process (caches warm: SQLAlchemy, spaCy vocab)")
    services.close()
    print(json.dumps({"steps": steps, "peak_rss_mb": round(peak_mb(), 1)}))


def peak_mb() -> float:
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    main()
