"""The `ed-alerts` command: serve, database, bulk ingest, quarantine and replay, demo."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from ed_alerts.settings import REPO_ROOT, get_settings
from ed_alerts.users.cli import users_app

app = typer.Typer(help="ed-alerts: safeguarding flags and referral tracking for children in emergency care.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Messages that could not be processed.", no_args_is_help=True)
app.add_typer(db_app, name="db")
rules_app = typer.Typer(help="The safeguarding rule pack.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(rules_app, name="rules")
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; name the first entry that does not hold."""
    from ed_alerts.audit.service import verify_chain
    from ed_alerts.db.session import Database

    db = Database.from_settings(get_settings())
    with db.session() as session:
        report = verify_chain(session)
    db.dispose()
    if report.ok:
        typer.echo(f"audit chain intact: {report.checked} entries verified")
        return
    typer.echo(f"audit chain BROKEN at entry {report.first_broken_id}: {report.problem} "
               f"({report.checked} entries before it verified)")
    raise typer.Exit(1)


def _load_rules_or_exit(rules_dir: Path):  # type: ignore[no-untyped-def]
    from ed_alerts.evaluation import RulePackError
    from ed_alerts.services import load_rules

    try:
        return load_rules(rules_dir)
    except RulePackError as exc:
        typer.echo(f"The rule pack in {rules_dir} is invalid; the service will not start.\n{exc}", err=True)
        raise typer.Exit(2) from exc


@rules_app.command("check")
def rules_check(rules_dir: Annotated[Path | None, typer.Argument(help="default: ED_ALERTS_RULES_DIR")] = None
                ) -> None:
    """Validate the rule pack and print a readable summary."""
    from ed_alerts.evaluation import summarise_pack

    folder = rules_dir or get_settings().rules_dir
    pack, detector = _load_rules_or_exit(folder)
    typer.echo(summarise_pack(pack))
    typer.echo(f"\ntext concepts: {', '.join(detector.concepts)}")
    typer.echo(f"pack digest: {pack.digest}")
    typer.echo("rule pack OK")


@rules_app.command("test")
def rules_test(corpus: Annotated[Path, typer.Argument(help="a labelled JSONL corpus, or a folder of messages")],
               expected: Annotated[Path | None, typer.Option(help="expected flags YAML for a folder")] = None
               ) -> None:
    """Measure the text rules on a labelled corpus (precision, recall, F1, by tag, misclassified),
    or run the whole pack over a folder of messages against an expected-flags file."""
    settings = get_settings()
    if corpus.is_dir():
        from ed_alerts.flags.pack_check import format_pack_check, run_pack_over_folder

        _load_rules_or_exit(settings.rules_dir)
        check = run_pack_over_folder(corpus, expected or corpus / "expected.yaml", settings)
        typer.echo(format_pack_check(check))
        raise typer.Exit(1 if check.mismatches else 0)
    from ed_alerts.evaluation.text import evaluate_corpus, format_report

    _, detector = _load_rules_or_exit(settings.rules_dir)
    typer.echo(format_report(evaluate_corpus(detector, corpus)))


def _logging() -> None:
    from ed_alerts.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json_format=settings.log_json)


@app.command()
def serve(host: Annotated[str | None, typer.Option(help="HTTP address (default 127.0.0.1)")] = None,
          port: Annotated[int | None, typer.Option(help="HTTP port (default 8000)")] = None) -> None:
    """Run the HTTP API and the MLLP listener."""
    import uvicorn

    from ed_alerts.app import create_app

    _logging()
    settings = get_settings()
    _load_rules_or_exit(settings.rules_dir)  # refuse to start on an invalid pack, with the reason
    uvicorn.run(create_app(settings), host=host or settings.http_host, port=port or settings.http_port,
                log_config=None)


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply the Alembic migrations to ED_ALERTS_DATABASE_URL."""
    from ed_alerts.db.migrate import upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {revision}: {_redact(url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command("ingest")
def ingest_files(paths: Annotated[list[Path], typer.Argument(help="files of HL7 v2 or FHIR JSON")]) -> None:
    """Read files of one or many HL7 v2 messages (MLLP-framed or blank-line separated) or FHIR JSON
    through the same pipeline and deduplication as the live feeds."""
    from ed_alerts.ingest.bulk import ingest_paths
    from ed_alerts.services import Services

    _logging()
    services = Services.build(get_settings())
    try:
        summary = ingest_paths(services.ingest, paths, progress=True)
    finally:
        services.close()
    typer.echo(f"processed: {summary.processed}  duplicate: {summary.duplicate}  "
               f"quarantined: {summary.quarantined}  files: {summary.files}")
    for line in summary.errors[:20]:
        typer.echo(f"  {line}")


@quarantine_app.command("list")
def quarantine_list(limit: int = 100) -> None:
    """List quarantined messages with their reasons."""
    from ed_alerts.ingest.models import MessageStatus
    from ed_alerts.ingest.queries import list_messages
    from ed_alerts.services import Services

    services = Services.build(get_settings())
    with services.db.session() as session:
        rows = list_messages(session, status=MessageStatus.QUARANTINED, limit=limit)
    services.close()
    if not rows:
        typer.echo("no quarantined messages")
    for m in rows:
        typer.echo(f"{m.id}\t{m.received_at:%Y-%m-%d %H:%M:%S}\t{m.transport}\t{m.sender}\t{m.control_id}\t"
                   f"{m.ack_code}\t{m.error_reason}")


@app.command()
def replay(ids: Annotated[list[int] | None, typer.Argument(help="message ids")] = None,
           all_quarantined: Annotated[bool, typer.Option("--all", help="every quarantined message")] = False
           ) -> None:
    """Process quarantined messages again (after a fix to a mapping, the site registry or the code)."""
    from sqlalchemy import select

    from ed_alerts.ingest.models import InboundMessage, MessageStatus
    from ed_alerts.ingest.pipeline import replay as replay_messages
    from ed_alerts.services import Services

    _logging()
    services = Services.build(get_settings())
    if all_quarantined:
        with services.db.session() as session:
            ids = list(session.scalars(select(InboundMessage.id)
                                       .where(InboundMessage.status == MessageStatus.QUARANTINED)))
    if not ids:
        typer.echo("nothing to replay: give message ids or --all")
        raise typer.Exit(1)
    outcomes = replay_messages(services.ingest, ids)
    services.close()
    ok = sum(o.accepted for o in outcomes)
    typer.echo(f"replayed {len(outcomes)}: processed {ok}, still quarantined {len(outcomes) - ok}")
    for o in outcomes:
        if not o.accepted:
            typer.echo(f"  {o.message_id}: {o.reason}")


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Start the service on the configured database and replay a small synthetic demo feed into it."""
    from ed_alerts.demo import run_demo

    _logging()
    run_demo(host=host, port=port, sites_file=REPO_ROOT / "demo" / "sites.yaml")


# Typer reads a command's parameters when it is registered, so this import cannot be deferred.
from integrations.local_authority.cli import fake_la_command  # noqa: E402

app.command("fake-la", help="Run a fake local authority referral endpoint for development and tests.")(
    fake_la_command)

from integrations.cpis.cli import fake_cpis_command  # noqa: E402

app.command("fake-cpis", help="Run a fake CP-IS (child protection information) API for development and tests."
            )(fake_cpis_command)


def main() -> None:  # pragma: no cover - console entry
    logging.captureWarnings(True)
    app()
