"""Engines, migrations and the unit of work."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError

from privline.adapters.db import account_repositories as account_repos
from privline.adapters.db import portal_repositories as portal_repos
from privline.adapters.db import repositories as repos
from privline.adapters.db import vault_repositories as vault_repos
from privline.services import account_ports, ports, vault_ports
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.settings import Settings

_MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Take the write lock at BEGIN: a deferred transaction that later writes can fail
    # with "database is locked" without waiting when another writer got in first.
    # --- compliance reports: a read-only snapshot (report_queries.py) begins deferred,
    # so a long report never holds the write lock the call path needs.
    if conn.get_execution_options().get("privline_snapshot"):
        conn.exec_driver_sql("BEGIN")
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def schema_ready(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            return inspect(conn).has_table("alembic_version")
    except DBAPIError as exc:
        raise Unavailable("the database cannot be reached", code="db_unavailable") from exc


class SqlUnitOfWork:
    facilities: ports.FacilityRepository
    residents: ports.ResidentRepository
    accounts: ports.AccountRepository
    blocks: ports.BlockRepository
    registry: ports.RegistryRepository
    users: account_ports.UserRepository
    tokens: account_ports.TokenRepository
    sessions: account_ports.SessionRepository
    signin_failures: account_ports.SigninFailures
    audit: ports.AuditLog
    calls: ports.CallLog
    portal: ports.PortalRepository  # the professionals' portal
    # The recording vault.
    recordings: vault_ports.RecordingIndex
    incidents: vault_ports.IncidentLog
    holds: vault_ports.LegalHolds
    disclosures: vault_ports.DisclosureLedger
    vault_settings: vault_ports.VaultSettings
    user_facilities: vault_ports.UserFacilities

    def __init__(self, engine: Engine, signer: ports.Signer | None = None,
                 checkpoint_every: int = 1000) -> None:
        self._engine = engine
        self._signer = signer
        self._checkpoint_every = checkpoint_every

    def __enter__(self) -> SqlUnitOfWork:
        try:
            self._conn = self._engine.connect()
            self._tx = self._conn.begin()
        except (OperationalError, DBAPIError) as exc:
            raise Unavailable("the database cannot be reached", code="db_unavailable") from exc
        conn = self._conn
        self.facilities = repos.SqlFacilities(conn)
        self.residents = repos.SqlResidents(conn)
        self.accounts = repos.SqlAccounts(conn)
        self.blocks = repos.SqlBlocks(conn)
        self.registry = repos.SqlRegistry(conn)
        self.users = account_repos.SqlUsers(conn)
        self.tokens = account_repos.SqlTokens(conn)
        self.sessions = account_repos.SqlSessions(conn)
        self.signin_failures = account_repos.SqlSigninFailures(conn)
        self.audit = repos.SqlAudit(conn, self._signer, self._checkpoint_every)
        self.calls = repos.SqlCalls(conn)
        self.portal = portal_repos.SqlPortal(conn)
        self.recordings = vault_repos.SqlRecordings(conn)
        self.incidents = vault_repos.SqlIncidents(conn)
        self.holds = vault_repos.SqlLegalHolds(conn)
        self.disclosures = vault_repos.SqlDisclosures(conn)
        self.vault_settings = vault_repos.SqlVaultSettings(conn)
        self.user_facilities = vault_repos.SqlUserFacilities(conn)
        return self

    def commit(self) -> None:
        try:
            self._tx.commit()
        except OperationalError as exc:
            raise Unavailable("the database refused the commit", code="db_unavailable") from exc

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self._conn.close()


def make_uow_factory(settings: Settings, engine: Engine | None = None,
                     signer: ports.Signer | None = None) -> UnitOfWorkFactory:
    bound = engine or make_engine(settings.database_url)

    def factory() -> UnitOfWork:
        return SqlUnitOfWork(bound, signer, settings.audit_checkpoint_every)

    return factory
