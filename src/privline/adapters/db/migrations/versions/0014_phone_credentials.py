"""phones known by SIP digest credentials

Revision ID: 0014
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'phone_credentials',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('facility_id', sa.String(length=64), nullable=False),
        sa.Column('ha1', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['facility_id'], ['facilities.id']),
        sa.PrimaryKeyConstraint('username'),
    )
    op.create_index('ix_phone_credentials_facility_id', 'phone_credentials',
                    ['facility_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_phone_credentials_facility_id', table_name='phone_credentials')
    op.drop_table('phone_credentials')
