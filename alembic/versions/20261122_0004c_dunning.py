"""dunning: per-organization alert/suspension state, suspended flag on servers

Revision ID: 0004c
Revises: 0004b
Create Date: 2026-11-22 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0004c'
down_revision = '0004b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dunning_states',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('fired', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('negative_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hold_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hold_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('hold_by', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hold_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('organization_id')
    )
    op.create_index(op.f('ix_dunning_states_suspended_at'), 'dunning_states', ['suspended_at'], unique=False)
    op.add_column('servers', sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('servers', sa.Column('resume_power_on', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('servers', 'resume_power_on')
    op.drop_column('servers', 'suspended_at')
    op.drop_index(op.f('ix_dunning_states_suspended_at'), table_name='dunning_states')
    op.drop_table('dunning_states')
