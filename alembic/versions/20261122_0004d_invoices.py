"""invoices: billing profiles, receipts and monthly statements with gap-free yearly numbers

Revision ID: 0004d
Revises: 0004c
Create Date: 2026-11-22 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0004d'
down_revision = '0004c'
branch_labels = None
depends_on = None

FROZEN_SQL = """
-- An issued document never changes: its snapshot is what the customer was given.
CREATE FUNCTION invoices_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invoices are immutable once issued (% refused)', TG_OP;
END $$;
CREATE TRIGGER trg_invoices_frozen BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_frozen();
"""


def upgrade() -> None:
    op.create_table('billing_profiles',
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('legal_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('address_line1', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('address_line2', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('postal_code', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('tax_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('organization_id')
    )
    op.create_table('invoice_counters',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('invoices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ledger_entry_id', sa.BigInteger(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('year', 'sequence', name='uq_invoices_year_sequence')
    )
    op.create_index('ix_invoices_org_issued', 'invoices', ['organization_id', 'issued_at'], unique=False)
    op.create_index('uq_invoices_receipt_entry', 'invoices', ['ledger_entry_id'], unique=True,
                    postgresql_where=sa.text("kind = 'receipt'"))
    op.create_index('uq_invoices_statement_period', 'invoices', ['organization_id', 'period_start'], unique=True,
                    postgresql_where=sa.text("kind = 'statement'"))
    op.execute(FROZEN_SQL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS trg_invoices_frozen ON invoices; DROP FUNCTION IF EXISTS invoices_frozen();")
    op.drop_index('uq_invoices_statement_period', table_name='invoices')
    op.drop_index('uq_invoices_receipt_entry', table_name='invoices')
    op.drop_index('ix_invoices_org_issued', table_name='invoices')
    op.drop_table('invoices')
    op.drop_table('invoice_counters')
    op.drop_table('billing_profiles')
