"""the recording vault: recordings index, incidents, legal holds, disclosures, settings

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('spool_key', sa.String(length=250), nullable=True),
    sa.Column('sip_call_id', sa.String(length=200), nullable=True),
    sa.Column('facility_id', sa.String(length=64), nullable=True),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('recordings', sa.Integer(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_spool_key'), ['spool_key'], unique=False)

    op.create_table('facility_vault_settings',
    sa.Column('facility_id', sa.String(length=64), nullable=False),
    sa.Column('review_days', sa.Integer(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_facility_vault_settings_facility_id_facilities')),
    sa.PrimaryKeyConstraint('facility_id', name=op.f('pk_facility_vault_settings'))
    )
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('spool_key', sa.String(length=250), nullable=False),
    sa.Column('sip_call_id', sa.String(length=200), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('facility_id', sa.String(length=64), nullable=True),
    sa.Column('resident_id', sa.String(length=64), nullable=True),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('call_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('blob_id', sa.String(length=64), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('master_key_id', sa.String(length=16), nullable=True),
    sa.Column('audio_ms', sa.Integer(), nullable=True),
    sa.Column('audio_bytes', sa.Integer(), nullable=True),
    sa.Column('channels', sa.Integer(), nullable=True),
    sa.Column('indexed_at', sa.DateTime(), nullable=False),
    sa.Column('quarantined_at', sa.DateTime(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('destroy_after', sa.DateTime(), nullable=True),
    sa.Column('destroyed_at', sa.DateTime(), nullable=True),
    sa.Column('destroyed_reason', sa.String(length=48), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_recordings_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('blob_id', name=op.f('uq_recordings_blob_id')),
    sa.UniqueConstraint('spool_key', name=op.f('uq_recordings_spool_key'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index('ix_recordings_destroy_after', ['destroy_after'], unique=False, sqlite_where=sa.text('destroy_after IS NOT NULL'), postgresql_where=sa.text('destroy_after IS NOT NULL'))
        batch_op.create_index('ix_recordings_facility_state_at', ['facility_id', 'state', 'call_at'], unique=False)
        batch_op.create_index('ix_recordings_number', ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_sip_call_id'), ['sip_call_id'], unique=False)

    op.create_table('user_facilities',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.String(length=64), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_user_facilities_facility_id_facilities')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_facilities_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'facility_id', name=op.f('pk_user_facilities'))
    )
    op.create_table('disclosures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=150), nullable=False),
    sa.Column('basis_type', sa.String(length=16), nullable=False),
    sa.Column('basis_reference', sa.String(length=200), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_disclosures_recording_id_recordings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosures'))
    )
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosures_recording_id'), ['recording_id'], unique=False)

    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('basis', sa.String(length=500), nullable=False),
    sa.Column('placed_by', sa.String(length=150), nullable=False),
    sa.Column('placed_at', sa.DateTime(), nullable=False),
    sa.Column('released_by', sa.String(length=150), nullable=True),
    sa.Column('released_at', sa.DateTime(), nullable=True),
    sa.Column('release_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_legal_holds_recording_id_recordings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_holds_recording_id'), ['recording_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_holds_recording_id'))

    op.drop_table('legal_holds')
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosures_recording_id'))

    op.drop_table('disclosures')
    op.drop_table('user_facilities')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_sip_call_id'))
        batch_op.drop_index('ix_recordings_number')
        batch_op.drop_index('ix_recordings_facility_state_at')
        batch_op.drop_index('ix_recordings_destroy_after', sqlite_where=sa.text('destroy_after IS NOT NULL'), postgresql_where=sa.text('destroy_after IS NOT NULL'))

    op.drop_table('recordings')
    op.drop_table('facility_vault_settings')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_spool_key'))

    op.drop_table('incidents')
