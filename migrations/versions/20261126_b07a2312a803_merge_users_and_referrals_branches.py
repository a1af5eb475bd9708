"""merge users and referrals branches

Revision ID: b07a2312a803
Revises: 102f766070d0, 669df1424727
Create Date: 2026-11-26 04:33:20.029373
"""
from collections.abc import Sequence

revision: str = 'b07a2312a803'
down_revision: str | None = ('102f766070d0', '669df1424727')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
