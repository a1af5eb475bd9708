"""`ed-alerts fake-la`: run the fake local authority in the foreground for development and tests."""

from __future__ import annotations

from typing import Annotated

import typer

_MODES = "ok, fail, slow, reject, down"  # FakeMode's values, spelled out to keep this import light


def fake_la_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="referral port; the endpoint is http://HOST:PORT/referrals")] = 8090,
    token: Annotated[str | None, typer.Option(envvar="ED_ALERTS_FAKE_LA_TOKEN",
                                              help="require this bearer token")] = None,
    mode: Annotated[str, typer.Option(help=f"starting mode: {_MODES}")] = "ok",
    delay_s: Annotated[float, typer.Option(help="how long slow mode stalls each answer")] = 2.0,
    control_port: Annotated[int | None, typer.Option(help="an always-up port for the /_control routes")] = None,
) -> None:
    """Play a local authority's referral endpoint: accept (idempotently), fail, be slow, reject or be down.
    Steer it with POST /_control {"mode": "fail"} and read GET /_deliveries."""
    from .fake_server import FakeLocalAuthority, run_fake_la
    from .fake_state import FakeMode

    try:
        chosen = FakeMode(mode)
    except ValueError:
        raise typer.BadParameter(f"mode must be one of {_MODES}", param_hint="--mode") from None
    if chosen is FakeMode.DOWN and control_port is None:
        raise typer.BadParameter("starting down needs --control-port, or it could never come up",
                                 param_hint="--mode")

    def ready(fake: FakeLocalAuthority) -> None:
        typer.echo(f"fake local authority: referrals at {fake.url} (mode {fake.mode.value}"
                   f"{', bearer token required' if token else ''}); control at {fake.control_url}/_control; "
                   "Ctrl+C to stop", err=True)

    run_fake_la(host, port, token=token, mode=chosen.value, delay_s=delay_s, control_port=control_port, ready=ready)
