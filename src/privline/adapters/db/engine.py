"""Engines, migrations and the unit of work."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError

from privline.adapters.db import repositories as repos
from privline.adapters.db.driver import Driver
from privline.adapters.db.repositories.base import SqlRepository
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports import records as records_ports
from privline.services.ports import vault as vault_ports
from privline.services.ports.accounts import AccountRepository
from privline.services.ports.audit import AuditLog, Signer
from privline.services.ports.calls import CallLog
from privline.services.ports.facilities import (
    BlockRepository,
    FacilityRepository,
    PinKeyring,
    ResidentRepository,
)
from privline.services.ports.phones import PhoneRepository
from privline.services.ports.portal import PortalRepository
from privline.services.ports.registry import RegistryRepository
from privline.services.ports.users import (
    SessionRepository,
    SigninFailures,
    TokenRepository,
    UserRepository,
)
from privline.settings import Settings

_MIGRATIONS = Path(__file__).with_name("migrations")


# SQLite checkpoints its WAL by itself inside the commit that takes the WAL past this many
# pages: copying the pages into the database and two fsyncs, milliseconds, inside the
# committer's transaction and its writer turn. That is only a backstop here (about
# 40 MB): units of work checkpoint after their turn instead (WalCheckpoints).
WAL_BACKSTOP_PAGES = 10_000


def make_engine(url: str, *, pre_ping: bool = True) -> Engine:
    """``pre_ping`` off (the switch's call path): PostgreSQL gets no extra round trip per
    unit of work to test a pooled connection. A connection the server dropped then fails
    one unit of work as ``Unavailable`` (a decision answered ``decision_unavailable``, an
    agent write retried), and SQLAlchemy discards the pool's connections on that error."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=pre_ping, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=30000", f"wal_autocheckpoint={WAL_BACKSTOP_PAGES}"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Take the write lock at BEGIN: a deferred transaction that later writes can fail
    # with "database is locked" without waiting when another writer got in first.
    # --- compliance reports: a read-only snapshot (report_queries.py) begins deferred,
    # so a long report never holds the write lock the call path needs.
    begin = "BEGIN" if conn.get_execution_options().get("privline_snapshot") else \
        "BEGIN IMMEDIATE"
    # Straight on the driver: this runs for every unit of work, call decisions included,
    # and SQLAlchemy's statement machinery would cost more than the BEGIN itself.
    dbapi = conn.connection.driver_connection
    if dbapi.in_transaction:  # type: ignore[union-attr]
        return  # a unit of work began it on the driver (SqlUnitOfWork.__enter__)
    try:
        dbapi.execute(begin)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise DBAPIError.instance(begin, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


class WriterTurn:
    """SQLite writers (every unit of work begins IMMEDIATE) take turns through one
    ``flock`` on a file beside the database before they ask SQLite for its write lock.

    Why: a writer that finds SQLite's lock taken sleeps in SQLite's busy handler for 1,
    2, 5, 10 ... up to 100 ms between tries, so under load (the switch's decisions, each
    in a Kamailio worker, and the call agent's writes) most of a decision's time was
    spent asleep while the lock was free. A blocked ``flock`` is woken by the kernel the
    moment the holder lets go. SQLite's own lock still guards the data: the turn only
    orders the writers (code outside a unit of work, or another tool, still gets in
    through the busy handler as before).

    A writer that has to wait says so with a shared lock on a second file while it
    waits, so a long batch (the call agent's) can see it and commit early
    (:meth:`others_waiting`): a decision waits for one event, not a whole batch.

    Per thread and per process its own descriptors, since a ``flock`` belongs to the
    open file, which threads and forked children (Kamailio's workers) would otherwise
    share."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.waiting_path = path.with_name(path.name + "-waiting")
        self._local = threading.local()

    def _fds(self) -> tuple[int, int]:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            local.fds = (os.open(self.path, flags, 0o600),
                         os.open(self.waiting_path, flags, 0o600))
            local.pid = os.getpid()
        turn, waiting = local.fds
        return int(turn), int(waiting)

    def take(self) -> None:
        turn, waiting = self._fds()
        try:
            fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        fcntl.flock(waiting, fcntl.LOCK_SH)
        try:
            fcntl.flock(turn, fcntl.LOCK_EX)
        finally:
            fcntl.flock(waiting, fcntl.LOCK_UN)

    def give_back(self) -> None:
        fcntl.flock(self._fds()[0], fcntl.LOCK_UN)

    def others_waiting(self) -> bool:
        waiting = self._fds()[1]
        try:
            fcntl.flock(waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # someone holds it shared: a writer waiting for its turn
        fcntl.flock(waiting, fcntl.LOCK_UN)
        return False


def writer_turn(engine: Engine) -> WriterTurn | None:
    """The engine's turn lock: file SQLite databases only (PostgreSQL has row locks)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or \
            database.startswith("file:"):
        return None
    return WriterTurn(Path(f"{database}.writer-turn"))


class WalCheckpoints:
    """Checkpoints of SQLite's WAL, run by units of work after they gave back the writer
    turn (PASSIVE: copying what is in the WAL while others go on writing), at most one
    per ``every`` seconds per process, after a commit.

    Only the processes that are not on the SIP path run them (``make_uow_factory``
    ``checkpoints``): the call agent, the API, the CLI. The switch's routing does not:
    SQLite's own checkpoint ran inside whichever commit took the WAL past 1000 pages,
    about one call decision in 150, with two fsyncs. A checkpoint that could not copy
    everything (others wrote meanwhile) leaves the rest to the next; the WAL restarts
    from its beginning only once everything was copied, so a WAL that keeps growing
    meets SQLite's own checkpoint at ``WAL_BACKSTOP_PAGES``, in whichever commit."""

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self._last = float("-inf")
        self._lock = threading.Lock()

    def run_if_due(self, dbapi_conn: Any) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.every:
                return False
            self._last = now
        try:
            dbapi_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            return False  # busy or failed: the next one tries again
        return True


_TRANSIENT_SQLITE = ("locked", "busy", "unable to open", "disk i/o")


def unavailable(exc: DBAPIError) -> Unavailable:
    """The services' error for a database failure: retryable when the database was
    locked, busy or unreachable, not when a statement itself is wrong."""
    first = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if exc.connection_invalidated:
        retryable = True
    elif isinstance(sqlstate, str):
        # PostgreSQL: connection (08), rollback/serialization (40), resources (53),
        # operator intervention such as a restart (57).
        retryable = sqlstate[:2] in ("08", "40", "53", "57")
    else:
        retryable = any(word in first.lower() for word in _TRANSIENT_SQLITE)
    return Unavailable(f"database error: {first}", code="db_unavailable", retryable=retryable)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    # Alembic is imported here, not at the top: only `init` migrates, and every other
    # command would pay its import time.
    from alembic import command
    from alembic.config import Config

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
    facilities: FacilityRepository
    residents: ResidentRepository
    accounts: AccountRepository
    blocks: BlockRepository
    phones: PhoneRepository
    registry: RegistryRepository
    users: UserRepository
    tokens: TokenRepository
    sessions: SessionRepository
    signin_failures: SigninFailures
    audit: AuditLog
    calls: CallLog
    portal: PortalRepository  # the professionals' portal
    # The recording vault.
    recordings: vault_ports.RecordingIndex
    incidents: vault_ports.IncidentLog
    holds: vault_ports.LegalHolds
    disclosures: vault_ports.DisclosureLedger
    vault_settings: vault_ports.VaultSettings
    user_facilities: vault_ports.UserFacilities
    pins: PinKeyring | None
    records: records_ports.RecordsRepository

    def __init__(self, engine: Engine, signer: Signer | None = None,
                 checkpoint_every: int = 1000, pins: PinKeyring | None = None,
                 turn: WriterTurn | None = None,
                 wal_checkpoints: WalCheckpoints | None = None) -> None:
        self._engine = engine
        self._turn = turn
        self._wal_checkpoints = wal_checkpoints
        self._signer = signer
        self._checkpoint_every = checkpoint_every
        self.pins = pins

    def __enter__(self) -> SqlUnitOfWork:
        # A bare pool connection, begun on the driver; SQLAlchemy's Connection only when
        # a repository asks for one (driver.py): a call decision never does.
        if self._turn is not None:
            self._turn.take()
        dialect = self._engine.dialect
        raw = None
        try:
            raw = self._engine.raw_connection()
            if dialect.name == "sqlite":
                raw.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        except (DBAPIError, dialect.loaded_dbapi.Error) as exc:
            if raw is not None:
                raw.close()
            if self._turn is not None:
                self._turn.give_back()
            raise Unavailable("the database cannot be reached", code="db_unavailable") from exc
        self._raw, self._committed, self._holds_turn = raw, False, True
        self._tx: RootTransaction | None = None
        self._driver = Driver(dialect, raw.driver_connection, self._connect)
        for name in _REPOSITORIES:  # a unit of work entered again: on its new connection
            self.__dict__.pop(name, None)
        return self

    def _connect(self) -> Connection:
        # Over the checked-out connection, already in its transaction: the "begin"
        # listener sees that and issues no second BEGIN.
        conn = Connection(self._engine, connection=self._raw)
        self._tx = conn.begin()
        return conn

    @property
    def _conn(self) -> Connection:
        return self._driver.conn

    def __getattr__(self, name: str) -> Any:
        """A repository is made on first use (see ``_REPOSITORIES``): a call decision
        or a call event uses four of the twenty, and making them all cost more than
        some of the statements."""
        make = _REPOSITORIES.get(name)
        if make is None or "_driver" not in self.__dict__:
            raise AttributeError(name)
        if name == "audit":
            repository = repos.SqlAudit(self._driver, self._signer, self._checkpoint_every)
        else:
            repository = make(self._driver if issubclass(make, SqlRepository)
                              else self._conn)
        setattr(self, name, repository)
        return repository

    def others_waiting(self) -> bool:
        return self._turn is not None and self._turn.others_waiting()

    def commit(self) -> None:
        try:
            if self._tx is not None:
                self._tx.commit()
            else:
                self._raw.driver_connection.commit()  # type: ignore[union-attr]
        except (OperationalError, self._engine.dialect.loaded_dbapi.Error) as exc:
            raise Unavailable("the database refused the commit", code="db_unavailable") from exc
        self._committed = True

    def _rollback(self) -> None:
        if self._tx is not None:
            if self._tx.is_active:
                self._tx.rollback()
        elif not self._committed and self._raw.is_valid:
            try:
                self._raw.driver_connection.rollback()  # type: ignore[union-attr]
            except self._engine.dialect.loaded_dbapi.Error as exc:
                self._raw.invalidate(exc)  # a connection that cannot roll back is gone

    def _give_back_turn(self) -> None:
        if self._turn is not None and self._holds_turn:
            self._turn.give_back()
            self._holds_turn = False

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        conn = self._driver.made_conn
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            # A statement (on the driver) found the connection dropped. As SQLAlchemy does
            # for its own statements: this one is closed, and every connection pooled
            # before now is replaced when next checked out (a restarted server dropped
            # them all; each would otherwise fail one more unit of work).
            self._engine.pool._invalidate(self._raw, exc)  # noqa: SLF001
        try:
            self._rollback()
            if self._committed and self._wal_checkpoints is not None:
                # After the turn: the copy runs while the next writer (a decision) writes.
                self._give_back_turn()
                self._wal_checkpoints.run_if_due(self._raw.driver_connection)
        finally:
            try:
                if conn is not None:
                    conn.close()  # gives the pool connection back too
                else:
                    self._raw.close()
            finally:
                self._give_back_turn()
        if isinstance(exc, DBAPIError):
            # The driver's error never leaves the adapter: the services' own says
            # whether a retry can help (a lock, a dropped connection) or not.
            raise unavailable(exc) from exc


_REPOSITORIES: dict[str, Any] = {
    "facilities": repos.SqlFacilities, "residents": repos.SqlResidents,
    "accounts": repos.SqlAccounts, "blocks": repos.SqlBlocks, "phones": repos.SqlPhones,
    "registry": repos.SqlRegistry,
    "users": repos.SqlUsers, "tokens": repos.SqlTokens, "sessions": repos.SqlSessions,
    "signin_failures": repos.SqlSigninFailures, "audit": repos.SqlAudit,
    "calls": repos.SqlCalls, "portal": repos.SqlPortal, "recordings": repos.SqlRecordings,
    "incidents": repos.SqlIncidents, "holds": repos.SqlLegalHolds,
    "disclosures": repos.SqlDisclosures, "vault_settings": repos.SqlVaultSettings,
    "user_facilities": repos.SqlUserFacilities, "records": repos.SqlRecords,
}


def make_uow_factory(settings: Settings, engine: Engine | None = None,
                     signer: Signer | None = None, pins: PinKeyring | None = None, *,
                     checkpoints: bool = True) -> UnitOfWorkFactory:
    """``checkpoints``: whether these units of work checkpoint SQLite's WAL after their
    commits (WalCheckpoints); not the switch routing's call decisions."""
    bound = engine or make_engine(settings.database_url)
    turn = writer_turn(bound)
    wal = WalCheckpoints() if checkpoints and turn is not None else None

    def factory() -> UnitOfWork:
        return SqlUnitOfWork(bound, signer, settings.audit_checkpoint_every, pins, turn, wal)

    return factory
