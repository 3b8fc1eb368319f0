"""the console: users.token_hash dropped (tokens live in api_tokens since 0007); the
call log is ordered and paged by time, so calls.at and call_refusals.at are indexed

Revision ID: 0009
Revises: 0007

SQLite cannot drop a UNIQUE column in place, and users is referenced by api_tokens,
web_sessions and user_facilities. So on SQLite the table is rebuilt inside the
migration's transaction with foreign keys deferred: dropping users counts its children
as violations, and putting every user back (same ids) clears them before the commit.
A batch "move and copy" would rename a copy into place instead, which clears nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None

_KEPT = "id, name, role, created_at, password_hash, totp_secret, totp_last_step, disabled_at"


def _users_table(*extra: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    *extra,
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), server_default='0', nullable=False),
    sa.Column('disabled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    *([sa.UniqueConstraint('token_hash', name=op.f('uq_users_token_hash'))] if extra else [])
    )


def _rebuild_users(extra: list[sa.Column], into: str, values: str) -> None:  # type: ignore[type-arg]
    op.execute("PRAGMA defer_foreign_keys = ON")  # until this transaction commits
    # Column lists are this module's constants, never input.
    op.execute(f"CREATE TABLE _users_0009 AS SELECT {_KEPT} FROM users")  # noqa: S608
    op.drop_table('users')  # its index goes with it
    _users_table(*extra)
    op.execute(f"INSERT INTO users ({into}) SELECT {values} FROM _users_0009")  # noqa: S608
    op.drop_table('_users_0009')
    op.create_index('ix_users_name', 'users', ['name'], unique=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_users([], _KEPT, _KEPT)
    else:
        op.drop_column('users', 'token_hash')  # its unique constraint goes with it
    op.create_index(op.f('ix_calls_at'), 'calls', ['at'], unique=False)
    op.create_index(op.f('ix_call_refusals_at'), 'call_refusals', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_call_refusals_at'), table_name='call_refusals')
    op.drop_index(op.f('ix_calls_at'), table_name='calls')
    # As 0007 left it: 64 random hex digits in each row, which no token's digest matches.
    if op.get_bind().dialect.name == "sqlite":
        column = sa.Column('token_hash', sa.String(length=64), nullable=False)
        _rebuild_users([column], f"{_KEPT}, token_hash",
                       f"{_KEPT}, lower(hex(randomblob(32)))")
        return
    op.add_column('users', sa.Column('token_hash', sa.String(length=64), nullable=True))
    op.execute("UPDATE users SET token_hash = md5(random()::text) || md5(random()::text)")
    op.alter_column('users', 'token_hash', nullable=False)
    op.create_unique_constraint(op.f('uq_users_token_hash'), 'users', ['token_hash'])
