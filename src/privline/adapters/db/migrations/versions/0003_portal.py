"""the professionals' portal: registrations and the numbers they name

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_registrations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('reference_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('profession', sa.String(length=32), nullable=False),
    sa.Column('credential', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_registrations')),
    sa.UniqueConstraint('reference_hash', name=op.f('uq_portal_registrations_reference_hash'))
    )
    op.create_table('portal_numbers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('matched_entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['registry_entries.id'], name=op.f('fk_portal_numbers_entry_id_registry_entries')),
    sa.ForeignKeyConstraint(['matched_entry_id'], ['registry_entries.id'], name=op.f('fk_portal_numbers_matched_entry_id_registry_entries')),
    sa.ForeignKeyConstraint(['registration_id'], ['portal_registrations.id'], name=op.f('fk_portal_numbers_registration_id_portal_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_numbers'))
    )
    with op.batch_alter_table('portal_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_numbers_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_numbers_registration_id'), ['registration_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_numbers_registration_id'))
        batch_op.drop_index(batch_op.f('ix_portal_numbers_entry_id'))

    op.drop_table('portal_numbers')
    op.drop_table('portal_registrations')
