"""`make run`: start the service and replay a small synthetic demo feed into it over MLLP."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from ed_alerts.app import create_app
from ed_alerts.settings import get_settings
from ed_alerts.synthetic import Generator, adt
from integrations.mllp import MLLPClient


def demo_feed(now: datetime) -> list[bytes]:
    """A morning at two EDs and the ambulance service, with the cases the rules exist for."""
    gen = Generator(seed=2026, now=now)
    messages: list[bytes] = []

    def send(visit, event="A04", minutes=0):  # type: ignore[no-untyped-def]
        messages.append(adt(visit, event, control_id=gen.next_id("DEMO"),
                            sent=visit.arrival + timedelta(minutes=minutes)))

    for _ in range(4):
        send(gen.visit(gen.child(), "RGT01", kind="plain"))
    jay = gen.child(age=15)
    earlier = gen.visit(jay, "RGT02", kind="assault", arrival=now - timedelta(days=21))
    send(earlier)
    send(earlier, "A03", minutes=180)
    send(gen.visit(jay, "RGT01", kind="group_assault"))
    send(gen.visit(gen.child(age=16), "RGT01", kind="disclosure"))
    send(gen.visit(gen.child(age=14, away=True), "RGT01", kind="weapon"))
    adult = gen.child(age=34)
    send(gen.visit(adult, "RGT01", kind="assault"))
    return messages


def run_demo(*, host: str, port: int, sites_file: Path) -> None:
    settings = get_settings().model_copy(update={"sites_file": settings_sites(sites_file)})
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_config=None))

    def feed() -> None:
        while not server.started:
            time.sleep(0.1)
        client = MLLPClient(settings.mllp_host, settings.mllp_port, timeout=30)
        accepted = 0
        feed_messages = demo_feed(datetime.now(UTC))
        for raw in feed_messages:
            ack = client.send(raw)
            accepted += b"MSA|AA" in ack
        client.close()
        print(f"\nDemo feed: {accepted} of {len(feed_messages)} messages acknowledged AA over MLLP "
              f"({settings.mllp_host}:{settings.mllp_port}).")
        print(f"  API docs:       http://{host}:{port}/docs")
        print(f"  Feed health:    http://{host}:{port}/api/feeds")
        print(f"  Messages:       http://{host}:{port}/api/messages")
        print(f"  MLLP listener:  {settings.mllp_host}:{settings.mllp_port}")
        print("Press Ctrl+C to stop.\n", flush=True)

    threading.Thread(target=feed, daemon=True).start()
    server.run()


def settings_sites(default: Path) -> Path:
    configured = get_settings().sites_file
    return configured if configured is not None else default
