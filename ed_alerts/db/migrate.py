"""Runs the Alembic migrations programmatically (`ed-alerts db upgrade`, tests, the demo)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from ed_alerts.settings import REPO_ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    # Escape '%' for configparser interpolation (passwords may hold it).
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)
