"""`ed-alerts users ...`: add, list, disable, password, token. Passwords come from standard input."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer

users_app = typer.Typer(help="Users: who may sign in, with which role and scope.", no_args_is_help=True)


def _actor():  # type: ignore[no-untyped-def]
    from ed_alerts.audit.service import Actor

    try:
        who = getpass.getuser()
    except OSError:  # no user name in this environment (some containers)
        who = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return Actor(name=f"cli:{who}", role="system")


def read_password(*, confirm: bool = True) -> str:
    """From the terminal without echo (asked twice), or the first line of a pipe."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password again: ") != first:
            typer.echo("the passwords differ", err=True)
            raise typer.Exit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _run(work):  # type: ignore[no-untyped-def]
    """Open the database and the site registry, run `work(session, services)` in one transaction."""
    from ed_alerts.db.session import Database
    from ed_alerts.errors import DomainError
    from ed_alerts.settings import get_settings
    from ed_alerts.sites.registry import SiteRegistry

    settings = get_settings()
    db = Database.from_settings(settings)
    registry = SiteRegistry.load(settings.sites_file, settings.default_trust)
    try:
        with db.session() as session:
            return work(session, settings, registry)
    except DomainError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from exc
    finally:
        db.dispose()


@users_app.command("add")
def add(name: Annotated[str, typer.Argument(help="the user name (letters, digits, . _ @ -)")],
        role: Annotated[str, typer.Option(help="ed_nurse, safeguarding_nurse, icb_lead, integration or admin")],
        site: Annotated[list[str] | None, typer.Option(help="a site code (repeat for several)")] = None,
        trust: Annotated[str | None, typer.Option(help="the trust code (safeguarding nurses)")] = None,
        password: Annotated[bool, typer.Option(help="read a password from standard input; "
                                                    "--no-password for a feed that signs in by token only")] = True,
        token: Annotated[bool | None, typer.Option(help="issue an API token (integration users; "
                                                        "the default for them)")] = None) -> None:
    """Create a user, reading the password from standard input (no echo on a terminal)."""
    from ed_alerts.auth.roles import Role
    from ed_alerts.users.service import NewUser, create_user

    try:
        role_value = Role(role)
    except ValueError as exc:
        typer.echo(f"error: unknown role {role!r}; one of: {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2) from exc
    issue_token = token if token is not None else role_value is Role.INTEGRATION
    secret = read_password() if password else None
    if password and not secret:
        typer.echo("error: no password given on standard input", err=True)
        raise typer.Exit(2)
    new = NewUser(name=name, role=role_value, sites=site or [], trust=trust, password=secret, api_token=issue_token)
    created = _run(lambda s, settings, registry: create_user(
        s, new, actor=_actor(), registry=registry, password_min_length=settings.password_min_length))
    scope = ", ".join(created.user.sites) or created.user.trust or "-"
    typer.echo(f"created {created.user.name} ({created.user.role.value}; scope {scope})")
    if created.api_token:
        typer.echo(f"API token (shown once, keep it in the feed's configuration):\n{created.api_token}")


@users_app.command("list")
def list_() -> None:
    """Every user, with role, scope and state."""
    from ed_alerts.users.service import list_users

    rows = _run(lambda s, *_: list_users(s))
    if not rows:
        typer.echo("no users")
    for u in rows:
        scope = ",".join(u.sites) or u.trust or "-"
        state = "active" if u.active else "disabled"
        typer.echo(f"{u.name}\t{u.role.value}\t{scope}\t{state}\ttokens={u.api_tokens}\t"
                   f"created {u.created_at:%Y-%m-%d %H:%M}")


@users_app.command("disable")
def disable(name: str) -> None:
    """Disable a user: their sessions and tokens stop working at once. Users are never deleted."""
    from ed_alerts.users.service import disable_user

    user = _run(lambda s, *_: disable_user(s, name, actor=_actor()))
    typer.echo(f"disabled {user.name}")


@users_app.command("password")
def password_(name: str) -> None:
    """Set a user's password, read from standard input."""
    from ed_alerts.users.service import set_password

    secret = read_password()
    _run(lambda s, settings, _: set_password(s, name, secret, actor=_actor(),
                                             password_min_length=settings.password_min_length))
    typer.echo(f"password set for {name.lower()}")


@users_app.command("token")
def token_(name: str) -> None:
    """Issue a new API token for an integration user; the earlier ones stop working."""
    from ed_alerts.users.service import issue_api_token

    value = _run(lambda s, *_: issue_api_token(s, name, actor=_actor()))
    typer.echo(f"API token for {name.lower()} (shown once; earlier tokens are revoked):\n{value}")
