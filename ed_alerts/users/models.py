"""Users and their API tokens. Users are disabled, never deleted: the audit log names them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ed_alerts.db.base import Base, utcnow


class User(Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # stored lower-case
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None: token-only feed user
    role: Mapped[str] = mapped_column(String(30))
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)  # upper-case site codes
    trust: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class ApiToken(Base):
    """A feed's bearer secret. Only its SHA-256 is kept: the secret has 256 bits of entropy, so a
    slow password hash would add cost to every message without adding safety."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart in lists
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
