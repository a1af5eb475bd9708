"""The `ed-alerts` command against a real database: ingest, quarantine list, replay, db upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ed_alerts.cli import app
from ed_alerts.services import Services
from ed_alerts.synthetic import Generator, adt
from tests.conftest import DATA


@pytest.fixture
def cli_env(services: Services, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ED_ALERTS_DATABASE_URL", db_url)
    monkeypatch.setenv("ED_ALERTS_SITES_FILE", str(DATA / "sites.yaml"))


def test_ingest_quarantine_list_and_replay(cli_env: None, tmp_path: Path) -> None:
    gen = Generator(seed=51)
    good = [adt(gen.visit(gen.child(), "RGT01"), control_id=f"G{i}") for i in range(3)]
    bad = b"MSH|^~\\&|EDIS|RGT01|X|Y|20260101120000||ADT^A04|BADV|P|7.0\rPID|1||1^^^A^MR\r"
    (tmp_path / "feed.hl7").write_bytes(b"\r\n".join(good + [bad]))
    runner = CliRunner()

    result = runner.invoke(app, ["ingest", str(tmp_path / "feed.hl7")])
    assert result.exit_code == 0, result.output
    assert "processed: 3" in result.output and "quarantined: 1" in result.output

    again = runner.invoke(app, ["ingest", str(tmp_path / "feed.hl7")])
    assert "duplicate: 4" in again.output and "processed: 0" in again.output

    listed = runner.invoke(app, ["quarantine", "list"])
    assert "BADV" in listed.output and "version" in listed.output.lower()

    replayed = runner.invoke(app, ["replay", "--all"])
    assert replayed.exit_code == 0
    assert "replayed 1: processed 0, still quarantined 1" in replayed.output


def test_replay_without_ids_says_what_to_do(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["replay"])
    assert result.exit_code == 1 and "--all" in result.output


def test_db_upgrade_is_idempotent(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "revision heads" in result.output
