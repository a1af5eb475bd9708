"""`make run`: start the service and replay a small synthetic demo feed into it over MLLP."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn

from ed_alerts.app import create_app
from ed_alerts.settings import Settings, get_settings
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


# Who you can be in the demo: one user per role, all with one fresh random password per run.
DEMO_USERS = {
    "demo-nurse": ("ed_nurse", ["RGT01"], None),
    "demo-safeguarding": ("safeguarding_nurse", [], "RGT"),
    "demo-icb": ("icb_lead", [], None),
    "demo-integration": ("integration", [], None),
    "demo-admin": ("admin", [], None),
}


def ensure_demo_users(settings: Settings) -> str:
    """Create the demo users, or reset their password: there is no default password to leave behind."""
    from ed_alerts.audit.service import Actor
    from ed_alerts.auth.roles import Role
    from ed_alerts.db.session import Database
    from ed_alerts.users.service import NewUser, create_user, find_user, set_password

    if settings.environment == "production":
        raise RuntimeError("the demo creates users with a printed password: not in production")
    password = secrets.token_urlsafe(12)
    actor = Actor.system("demo")
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            for name, (role, sites, trust) in DEMO_USERS.items():
                if find_user(session, name) is None:
                    create_user(session, NewUser(name=name, role=Role(role), sites=sites, trust=trust,
                                                 password=password), actor=actor, registry=None,
                                password_min_length=settings.password_min_length)
                else:
                    set_password(session, name, password, actor=actor,
                                 password_min_length=settings.password_min_length)
    finally:
        db.dispose()
    return password


def run_demo(*, host: str, port: int, sites_file: Path) -> None:
    settings = get_settings().model_copy(update={"sites_file": settings_sites(sites_file)})
    password = ensure_demo_users(settings)
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
        print(f"  Sign in:        http://{host}:{port}/signin as {', '.join(DEMO_USERS)}")
        print(f"                  password for this run: {password}")
        print(f"  A token:        curl -d username=demo-integration -d password={password} "
              f"http://{host}:{port}/auth/token")
        print("Press Ctrl+C to stop.\n", flush=True)

    threading.Thread(target=feed, daemon=True).start()
    server.run()


def settings_sites(default: Path) -> Path:
    configured = get_settings().sites_file
    return configured if configured is not None else default
