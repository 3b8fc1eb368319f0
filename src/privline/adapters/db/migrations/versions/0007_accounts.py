"""operators' accounts: passwords, TOTP, expiring API tokens, server-side web sessions

Revision ID: 0007
Revises: 0008

Each user's bearer token moves to api_tokens with an expiry 90 days from the upgrade;
users.token_hash is then overwritten with the digest of random bytes, so the old column
can authenticate nobody (it stays: SQLite cannot drop a UNIQUE column in place).
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(), nullable=True))
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('session_hash', name=op.f('uq_web_sessions_session_hash'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)
    op.create_table('signin_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('forgiven', sa.Boolean(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_failures'))
    )
    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_failures_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_failures_user_name'), ['user_name'], unique=False)
    _move_tokens()
    _unique_names()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_name', ['name'], unique=True)


def _move_tokens() -> None:
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('token_hash', sa.String),
                     sa.column('created_at', sa.DateTime))
    tokens = sa.table('api_tokens', sa.column('user_id', sa.Integer),
                      sa.column('token_hash', sa.String), sa.column('created_at', sa.DateTime),
                      sa.column('expires_at', sa.DateTime))
    conn = op.get_bind()
    # Naive UTC, as the UTCDateTime columns store it.
    expires = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=90)
    for user_id, digest, created in conn.execute(
            sa.select(users.c.id, users.c.token_hash, users.c.created_at)).all():
        conn.execute(tokens.insert().values(user_id=user_id, token_hash=digest,
                                            created_at=created, expires_at=expires))
        conn.execute(users.update().where(users.c.id == user_id).values(
            token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest()))


def _unique_names() -> None:
    """A name now signs in, so it must name one user: a repeated name gets ``-<id>``."""
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('name', sa.String))
    conn = op.get_bind()
    seen: set[str] = set()
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.name)
                                      .order_by(users.c.id)).all():
        if name in seen:
            conn.execute(users.update().where(users.c.id == user_id)
                         .values(name=f"{name[:90]}-{user_id}"))
        seen.add(name)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_name')
    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_failures_user_name'))
        batch_op.drop_index(batch_op.f('ix_signin_failures_at'))
        batch_op.drop_index(batch_op.f('ix_signin_failures_address'))
    op.drop_table('signin_failures')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('password_hash')
