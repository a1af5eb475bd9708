"""cpis lookups: one CP-IS lookup per attendance (the durable queue and the stored answer)

Revision ID: f0d362bcf3be
Revises: b07a2312a803
Create Date: 2026-11-26 05:42:33.711685
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ed_alerts.db.base

revision: str = 'f0d362bcf3be'
down_revision: str | None = 'b07a2312a803'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cpis_lookup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attendance_id', sa.Integer(), nullable=False),
    sa.Column('identifier_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('plans', sa.JSON(), nullable=False),
    sa.Column('access_event', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', ed_alerts.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('leased_until', ed_alerts.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=36), nullable=True),
    sa.Column('last_attempt_at', ed_alerts.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_cause', sa.String(length=60), nullable=True),
    sa.Column('last_http_status', sa.Integer(), nullable=True),
    sa.Column('last_reason', sa.Text(), nullable=True),
    sa.Column('trace_id', sa.String(length=64), nullable=True),
    sa.Column('source_lookup_id', sa.Integer(), nullable=True),
    sa.Column('created_at', ed_alerts.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', ed_alerts.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', ed_alerts.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendance.id'], name=op.f('fk_cpis_lookup_attendance_id_attendance')),
    sa.ForeignKeyConstraint(['identifier_id'], ['patient_identifier.id'], name=op.f('fk_cpis_lookup_identifier_id_patient_identifier')),
    sa.ForeignKeyConstraint(['source_lookup_id'], ['cpis_lookup.id'], name=op.f('fk_cpis_lookup_source_lookup_id_cpis_lookup')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cpis_lookup')),
    sa.UniqueConstraint('attendance_id', name=op.f('uq_cpis_lookup_attendance_id'))
    )
    with op.batch_alter_table('cpis_lookup', schema=None) as batch_op:
        batch_op.create_index('ix_cpis_lookup_status_next', ['status', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cpis_lookup', schema=None) as batch_op:
        batch_op.drop_index('ix_cpis_lookup_status_next')

    op.drop_table('cpis_lookup')
