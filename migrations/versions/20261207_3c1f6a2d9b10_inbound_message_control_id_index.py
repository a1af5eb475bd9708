"""inbound message control id index: follow one message by its control id without reading the store

Revision ID: 3c1f6a2d9b10
Revises: f0d362bcf3be
Create Date: 2026-12-07 20:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '3c1f6a2d9b10'
down_revision: str | None = 'f0d362bcf3be'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_inbound_message_control_id', 'inbound_message', ['control_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbound_message_control_id', table_name='inbound_message')
