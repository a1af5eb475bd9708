"""`ed-alerts fake-cpis`: run the fake CP-IS service in the foreground for development and tests."""

from __future__ import annotations

from typing import Annotated

import typer

_MODES = "ok, slow, fail"  # FakeMode's values a fake can start in, spelled out to keep this import light


def fake_cpis_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port; the FHIR base is http://HOST:PORT")] = 8095,
    token: Annotated[str | None, typer.Option(envvar="ED_ALERTS_FAKE_CPIS_TOKEN",
                                              help="require this bearer token")] = None,
    mode: Annotated[str, typer.Option(help=f"starting mode: {_MODES}")] = "ok",
    delay_s: Annotated[float, typer.Option(help="how long slow mode stalls each answer")] = 10.0,
) -> None:
    """Play the national CP-IS FHIR API (GET /CareTeam) with synthetic children; be slow or fail on
    request. Steer it with POST /_control {"mode": "slow"} and read GET /_requests."""
    from .fake_server import FakeCpis, run_fake_cpis

    if mode not in ("ok", "slow", "fail"):
        raise typer.BadParameter(f"mode must be one of {_MODES}", param_hint="--mode")

    def ready(fake: FakeCpis) -> None:
        typer.echo(f"fake CP-IS: FHIR base {fake.base_url} (mode {fake.mode.value}"
                   f"{', bearer token required' if token else ''}); Ctrl+C to stop", err=True)
        typer.echo("synthetic children it holds (set ED_ALERTS_CPIS_URL to the base above):", err=True)
        for child in fake.children():
            typer.echo(f"  {child.nhs_number}  {child.label}", err=True)

    run_fake_cpis(host, port, token=token, mode=mode, delay_s=delay_s, ready=ready)
