"""registry review queue: an entry a directory import no longer vouches for

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('registry_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('review_since', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_registry_entries_review'), ['review'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('registry_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_entries_review'))
        batch_op.drop_column('review_since')
        batch_op.drop_column('review')
