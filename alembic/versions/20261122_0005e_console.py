"""console: single-use console tickets and console sessions (limits, audit)

Revision ID: 0005e
Revises: 0004d
Create Date: 2026-11-22 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0005e'
down_revision = '0004d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_tickets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('user_session_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('server_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['server_id'], ['servers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_session_id'], ['user_sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash'),
    )
    op.create_index(op.f('ix_console_tickets_server_id'), 'console_tickets', ['server_id'], unique=False)
    op.create_index(op.f('ix_console_tickets_expires_at'), 'console_tickets', ['expires_at'], unique=False)
    op.create_table('console_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('user_session_id', sa.Uuid(), nullable=True),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('server_id', sa.Uuid(), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('bytes_in', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('bytes_out', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['server_id'], ['servers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_session_id'], ['user_sessions.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_console_sessions_open_user', 'console_sessions', ['user_id'], unique=False,
                    postgresql_where=sa.text('ended_at IS NULL'))
    op.create_index('ix_console_sessions_open_server', 'console_sessions', ['server_id'], unique=False,
                    postgresql_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_console_sessions_open_server', table_name='console_sessions')
    op.drop_index('ix_console_sessions_open_user', table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_index(op.f('ix_console_tickets_expires_at'), table_name='console_tickets')
    op.drop_index(op.f('ix_console_tickets_server_id'), table_name='console_tickets')
    op.drop_table('console_tickets')
