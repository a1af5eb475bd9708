"""`ed-alerts rules check` and `rules test`, and refusing to start on a bad pack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ed_alerts.cli import app
from ed_alerts.settings import REPO_ROOT
from tests.conftest import DATA


@pytest.fixture
def broken_pack(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", folder)
    path = folder / "pack" / "weapon.yaml"
    path.write_text(path.read_text().replace("severity: critical", "severity: apocalyptic"))
    return folder


def test_rules_check_prints_a_summary_of_the_real_pack() -> None:
    result = CliRunner().invoke(app, ["rules", "check"])
    assert result.exit_code == 0, result.output
    for rule_id in ("assault", "group_violence", "does_not_feel_safe", "repeat_attendance", "weapon",
                    "known_to_social_care", "far_from_home"):
        assert rule_id in result.output
    assert "rule pack OK" in result.output


def test_rules_check_names_file_field_and_reason_of_a_bad_pack(broken_pack: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "check", str(broken_pack)])
    assert result.exit_code == 2
    assert "weapon.yaml" in result.output and "severity" in result.output


def test_serve_refuses_to_start_on_a_bad_pack(broken_pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ED_ALERTS_RULES_DIR", str(broken_pack))
    result = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "will not start" in result.output and "weapon.yaml" in result.output


def test_rules_test_on_the_dev_corpus_prints_the_figures() -> None:
    result = CliRunner().invoke(app, ["rules", "test", str(DATA / "corpora" / "unsafe_disclosure_dev.jsonl")])
    assert result.exit_code == 0, result.output
    for label in ("precision: ", "recall: ", "F1: "):
        assert label in result.output


def test_rules_test_on_a_folder_prints_a_confusion_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ED_ALERTS_SITES_FILE", str(DATA / "sites.yaml"))
    result = CliRunner().invoke(app, ["rules", "test", str(DATA / "rule_cases")])
    assert result.exit_code == 0, result.output
    assert "mismatches" not in result.output
    assert "repeat_attendance" in result.output and "TP" in result.output
