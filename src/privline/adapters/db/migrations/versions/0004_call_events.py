"""call events applied once, and refusals before any decision

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_refusals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sip_call_id', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('facility_id', sa.String(length=64), nullable=True),
    sa.Column('resident_id', sa.String(length=64), nullable=True),
    sa.Column('dialled', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=48), nullable=False),
    sa.Column('sip_code', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_refusals')),
    sa.UniqueConstraint('sip_call_id', name=op.f('uq_call_refusals_sip_call_id'))
    )
    op.create_table('call_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sip_call_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_events')),
    sa.UniqueConstraint('sip_call_id', 'kind', 'seq',
                        name=op.f('uq_call_events_sip_call_id_kind_seq'))
    )


def downgrade() -> None:
    op.drop_table('call_events')
    op.drop_table('call_refusals')
