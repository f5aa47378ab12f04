"""billing: billing runs (engine health) and each server's billing cursor

Revision ID: 0004a
Revises: 0003
Create Date: 2026-11-22 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0004a'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_runs',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('billed_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('batches_done', sa.Integer(), nullable=False),
    sa.Column('batches_failed', sa.Integer(), nullable=False),
    sa.Column('servers', sa.Integer(), nullable=False),
    sa.Column('hours_billed', sa.Integer(), nullable=False),
    sa.Column('organizations', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('error', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_billing_runs_started', 'billing_runs', ['started_at'], unique=False)
    op.create_table('server_billing_state',
    sa.Column('server_id', sa.Uuid(), nullable=False),
    sa.Column('billed_through', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month_amount', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('server_id')
    )
    # Every billable server's row is rewritten each hour: room on the page keeps those updates HOT.
    op.execute("ALTER TABLE server_billing_state SET (fillfactor = 50)")


def downgrade() -> None:
    op.drop_table('server_billing_state')
    op.drop_index('ix_billing_runs_started', table_name='billing_runs')
    op.drop_table('billing_runs')
