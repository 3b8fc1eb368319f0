"""The composition root: every process builds its parts here, once, from one Settings.

The CLI, the API and web app, Kamailio's routing, the call agent, the vault's ingest loop
and the benchmarks all call :func:`bootstrap`. It is the only place that turns settings
into an engine, a unit of work factory (with the signer that makes the audit log's
automatic checkpoints), the vault and the clock. Nothing else calls ``make_uow_factory``
or reads the environment.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from privline.adapters.db import make_engine, make_uow_factory, migrate, schema_ready
from privline.adapters.files import KeyFileError
from privline.adapters.pin_key import PinKeyring
from privline.adapters.signing import Ed25519Signer
from privline.adapters.vault import FolderBlobStore, MasterKey
from privline.adapters.vault.exceptions import VaultError
from privline.adapters.vault.storage import Blobs, MasterKeyring, SpoolSource
from privline.entrypoints.web.session import load_or_create_secret, load_secret
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.vault import Vault
from privline.settings import Settings, SettingsError

Clock = Callable[[], datetime]


class StartupError(Exception):
    """A process cannot start: a setting is malformed, a key file is missing or readable
    by others, or there is no privline data yet. A person must act; retrying cannot help.
    Entrypoints print it as one line (exit 2) or refuse to serve."""


class NotInitialised(StartupError):
    """privline init has not run against this home or database."""


class ExposedFiles(StartupError):
    """PRIVLINE_HOME or the SQLite database (with its -wal/-shm) is open to others."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    """What a process needs at run time, built by :func:`bootstrap`."""

    settings: Settings
    uow: UnitOfWorkFactory
    signer: Ed25519Signer | None = None
    web_secret: bytes | None = None  # signs web session cookies; None: a per-process one
    engine: Engine | None = None
    clock: Clock = field(default=utcnow)

    def vault(self) -> Vault:
        """The vault's I/O: rtpengine's spool (the same folder the switch renders into
        rtpengine.conf), the master key, the blob folder. Raises Unavailable (not
        retryable) if the key file is missing or readable by others."""
        try:
            return open_vault(self.settings)
        except VaultError as exc:
            raise Unavailable(f"the vault cannot be opened: {exc.message}",
                              code="vault_unavailable", retryable=False) from exc

    @classmethod
    def open(cls, settings: Settings | None = None, *, create: bool = False) -> Runtime:
        return bootstrap(settings, create=create)


def open_vault(settings: Settings) -> Vault:
    master = MasterKey.load(settings.master_key_path)
    return Vault(
        source=SpoolSource(settings.recording_spool),
        keys=MasterKeyring(master),
        blobs=Blobs(FolderBlobStore(settings.vault_path)),
    )


def _private_paths(settings: Settings) -> list[Path]:
    paths = [settings.home]
    if settings.uses_sqlite and (db := settings.sqlite_path) is not None:
        paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return paths


def _make_private(settings: Settings) -> None:
    """`privline init` tightens a home and database made before this rule (or by hand)."""
    for path in _private_paths(settings):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o700 if path.is_dir() else 0o600)


def _refuse_exposed(settings: Settings) -> None:
    # As for the key files: refuse to start rather than serve from files others can read.
    for path in _private_paths(settings):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            raise ExposedFiles(f"{path} is mode {mode:04o}, open to other users; "
                               f"chmod {'700' if path.is_dir() else '600'} it "
                               "(or run `privline init`)")


def bootstrap(settings: Settings | None = None, *, create: bool = False,
              clock: Clock = utcnow, call_path: bool = False,
              checkpoints: bool | None = None) -> Runtime:
    """Open the store; with ``create``, make PRIVLINE_HOME, migrate the schema and make
    the keys that do not exist yet. Raises StartupError when a person must act first.
    ``call_path``: the switch's routing and agent, whose units of work skip the pool's
    pre-ping round trip (see ``make_engine``). ``checkpoints``: whether this process's
    units of work checkpoint SQLite's WAL after their commits (``WalCheckpoints``); by
    default all but the call path's do, and the call agent asks to (its writes are off
    the SIP path; the routing's decisions are on it)."""
    if checkpoints is None:
        checkpoints = not call_path
    try:
        return _bootstrap(settings or Settings.from_env(), create, clock, call_path,
                          checkpoints)
    except (SettingsError, KeyFileError) as exc:
        raise StartupError(str(exc)) from exc
    except VaultError as exc:  # the master key, made or checked at init
        raise StartupError(exc.message) from exc


def _bootstrap(settings: Settings, create: bool, clock: Clock, call_path: bool,
               checkpoints: bool) -> Runtime:
    # Everything this process creates (the database, its WAL and SHM, keys, blobs,
    # exports) is the service user's alone: the database holds token and PIN hashes,
    # registrants' emails and call metadata.
    os.umask(0o077)
    if create:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        _make_private(settings)
    _refuse_exposed(settings)
    if not create and settings.uses_sqlite and not settings.database_path_exists():
        raise NotInitialised(f"no privline data in {settings.home}; run `privline init`")
    engine = make_engine(settings.database_url, pre_ping=not call_path)
    try:
        if create:
            migrate(engine)
            signer = Ed25519Signer.load_or_create(settings.signing_key_path)
            MasterKey.load_or_create(settings.master_key_path)  # the vault's, mode 0600
            web_secret: bytes | None = load_or_create_secret(settings.web_secret_path)
            pins = PinKeyring.load_or_create(settings.pin_key_path)
        else:
            if not schema_ready(engine):
                raise NotInitialised("the database has no privline schema; "
                                     "run `privline init`")
            signer = Ed25519Signer.load(settings.signing_key_path)
            web_secret = load_secret(settings.web_secret_path)
            # Every process that sets or checks a PIN needs the key; refused like the
            # others (KeyFileError) when missing or readable by others.
            pins = PinKeyring.load(settings.pin_key_path)
    except BaseException:
        engine.dispose()  # a refused start leaves no connection behind
        raise
    uow = make_uow_factory(settings, engine, signer, pins, checkpoints=checkpoints)
    return Runtime(settings, uow, signer, web_secret, engine, clock)
