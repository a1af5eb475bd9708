"""`make run`: the service with demo users, a fake local authority, synthetic history and a live feed.

1. Demo users for every role, each with a fresh random password printed at start (development only).
2. A fake local authority (integrations/local_authority/fake_server.py) on loopback, configured as
   the referral endpoint, unless ED_ALERTS_LOCAL_AUTHORITIES_FILE names real ones.
3. Synthetic history and today's cases through the service layer (ed_alerts/demo_seed.py), so
   every page has something to show.
4. The service (HTTP, MLLP, the scheduler that delivers referrals), then this morning's feed over
   MLLP, and a minute later one more flagged child, so the ED board can be seen updating itself.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
import yaml

from ed_alerts.app import create_app
from ed_alerts.settings import Settings, get_settings
from ed_alerts.synthetic import Generator, adt
from integrations.mllp import MLLPClient

DEMO_LA = "DEMO-LA"
LATE_ARRIVAL_AFTER_S = 60


def demo_feed(now: datetime) -> list[bytes]:
    """A morning at two EDs, with the cases the rules exist for. New children and ids every day."""
    day = now.strftime("%Y%m%d")
    gen = Generator(seed=int(day) + 1, now=now)
    messages: list[bytes] = []

    def send(visit, event="A04", minutes=0):  # type: ignore[no-untyped-def]
        messages.append(adt(visit, event, control_id=gen.next_id(f"DEMO{day}-"),
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


def late_arrival(now: datetime) -> bytes:
    gen = Generator(seed=int(now.strftime("%Y%m%d%H%M")), now=now)
    visit = gen.visit(gen.child(age=13), "RGT01", kind="group_assault", arrival=now)
    return adt(visit, control_id=gen.next_id(f"LATE{now:%Y%m%d%H%M%S}-"))


# Who you can be in the demo: one user per role, each with a fresh random password per run.
DEMO_USERS = {
    "demo-nurse": ("ed_nurse", ["RGT01"], None),
    "demo-safeguarding": ("safeguarding_nurse", [], "RGT"),
    "demo-icb": ("icb_lead", [], None),
    "demo-integration": ("integration", [], None),
    "demo-admin": ("admin", [], None),
}


def ensure_demo_users(settings: Settings) -> dict[str, str]:
    """Create the demo users, or reset their passwords: there is no default password to leave behind."""
    from ed_alerts.audit.service import Actor
    from ed_alerts.auth.roles import Role
    from ed_alerts.db.session import Database
    from ed_alerts.users.service import NewUser, create_user, find_user, set_password

    if settings.environment == "production":
        raise RuntimeError("the demo creates users with printed passwords: not in production")
    passwords = {name: secrets.token_urlsafe(12) for name in DEMO_USERS}
    actor = Actor.system("demo")
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            for name, (role, sites, trust) in DEMO_USERS.items():
                if find_user(session, name) is None:
                    create_user(session, NewUser(name=name, role=Role(role), sites=sites, trust=trust,
                                                 password=passwords[name]), actor=actor, registry=None,
                                password_min_length=settings.password_min_length)
                else:
                    set_password(session, name, passwords[name], actor=actor,
                                 password_min_length=settings.password_min_length)
    finally:
        db.dispose()
    return passwords


def write_authorities(folder: Path, url: str, token: str) -> Path:
    path = folder / "local_authorities.yaml"
    path.write_text(yaml.safe_dump({"local_authorities": [
        {"code": DEMO_LA, "name": "Demo local authority (a fake on loopback)", "url": url, "token": token,
         "timeout_s": 10, "areas": ["CB", "PE"]}]}), encoding="utf-8")
    return path


def run_demo(*, host: str, port: int, sites_file: Path) -> None:
    from ed_alerts.demo_seed import seed_demo
    from ed_alerts.services import Services
    from integrations.local_authority.fake_server import FakeLocalAuthority

    base = get_settings()
    settings = base.model_copy(update={"sites_file": base.sites_file or sites_file})
    passwords = ensure_demo_users(settings)
    fake = None
    folder = tempfile.TemporaryDirectory(prefix="ed-alerts-demo-")
    if settings.local_authorities_file is None:
        token = secrets.token_urlsafe(24)
        fake = FakeLocalAuthority(token=token, reference_prefix="DEMO-LA").start()
        settings = settings.model_copy(update={
            "local_authorities_file": write_authorities(Path(folder.name), fake.url, token),
            "default_local_authority": settings.default_local_authority or DEMO_LA,
            "outbox_drain_interval_s": min(settings.outbox_drain_interval_s, 3.0)})

    print("Preparing synthetic data (longer on the first run)…", flush=True)
    services = Services.build(settings)
    try:
        report = seed_demo(services, datetime.now(UTC))
    finally:
        services.close()
    if report.history_referrals:
        print(f"  six months of history: {report.history_referrals} referrals sent", flush=True)

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_config=None))
    url = f"http://{host}:{port}"

    def feed() -> None:
        while not server.started:
            time.sleep(0.1)
        client = MLLPClient(settings.mllp_host, settings.mllp_port, timeout=30)
        feed_messages = demo_feed(datetime.now(UTC))
        accepted = sum(b"MSA|AA" in client.send(raw) for raw in feed_messages)
        print(f"\nDemo feed: {accepted} of {len(feed_messages)} messages acknowledged AA over MLLP "
              f"({settings.mllp_host}:{settings.mllp_port}).")
        print("Sign in at " + url + "/signin as (passwords are new every run):")
        for name, (role, _, _) in DEMO_USERS.items():
            print(f"  {name:<20} {passwords[name]:<20} {role}")
        print("Pages:")
        print(f"  ED board            {url}/board          (demo-nurse; a new child arrives in "
              f"{LATE_ARRIVAL_AFTER_S} s)")
        print(f"  Safeguarding queue  {url}/queue          (demo-safeguarding)")
        print(f"  ICB dashboard       {url}/dashboard      (demo-icb)")
        print(f"  Audit chain         {url}/audit-chain")
        print(f"  API docs            {url}/docs")
        print(f"  Feed health         {url}/api/feeds      (demo-integration)")
        if fake is not None:
            print(f"  Fake local authority {fake.url.rsplit('/', 1)[0]}/_deliveries")
        print(f"  MLLP listener       {settings.mllp_host}:{settings.mllp_port}")
        print(f"  A token: curl -d username=demo-integration -d password={passwords['demo-integration']} "
              f"{url}/auth/token")
        print("Press Ctrl+C to stop.\n", flush=True)
        time.sleep(LATE_ARRIVAL_AFTER_S)
        if not server.should_exit:
            client.send(late_arrival(datetime.now(UTC)))
            print("A new flagged child has arrived at RGT01: see the ED board.", flush=True)
        client.close()

    threading.Thread(target=feed, daemon=True).start()
    try:
        server.run()
    finally:
        if fake is not None:
            fake.stop()
        folder.cleanup()
