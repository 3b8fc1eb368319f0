"""The composition root: every process builds its parts here, once, from one Settings.

The CLI, the API and web app, Kamailio's routing, the call agent, the vault's ingest loop
and the benchmarks all call :func:`bootstrap`. It is the only place that turns settings
into an engine, a unit of work factory (with the signer that makes the audit log's
automatic checkpoints), the vault and the clock. Nothing else calls ``make_uow_factory``
or reads the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from privline.adapters.db import make_engine, make_uow_factory, migrate, schema_ready
from privline.adapters.pin_key import PinKeyring
from privline.adapters.signing import Ed25519Signer
from privline.adapters.vault import FolderBlobStore, MasterKey
from privline.adapters.vault.service_io import Blobs, MasterKeyring, SpoolSource
from privline.entrypoints.web.session import load_or_create_secret, load_secret
from privline.services.ports import UnitOfWorkFactory
from privline.services.vault_ports import Vault
from privline.settings import Settings

Clock = Callable[[], datetime]


class NotInitialised(Exception):
    """privline init has not run against this home or database."""


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
        rtpengine.conf), the master key, the blob folder. Raises MasterKeyError if the
        key file is missing or readable by others."""
        return open_vault(self.settings)

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


def bootstrap(settings: Settings | None = None, *, create: bool = False,
              clock: Clock = utcnow) -> Runtime:
    """Open the store; with ``create``, make PRIVLINE_HOME, migrate the schema and make
    the keys that do not exist yet."""
    settings = settings or Settings.from_env()
    if create:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif settings.uses_sqlite and not settings.database_path_exists():
        raise NotInitialised(f"no privline data in {settings.home}; run `privline init`")
    engine = make_engine(settings.database_url)
    if create:
        migrate(engine)
        signer = Ed25519Signer.load_or_create(settings.signing_key_path)
        MasterKey.load_or_create(settings.master_key_path)  # the vault's, mode 0600
        web_secret: bytes | None = load_or_create_secret(settings.web_secret_path)
        pins = PinKeyring.load_or_create(settings.pin_key_path)
    else:
        if not schema_ready(engine):
            raise NotInitialised("the database has no privline schema; run `privline init`")
        signer = Ed25519Signer.load(settings.signing_key_path)
        web_secret = load_secret(settings.web_secret_path)
        # Every process that sets or checks a PIN needs the key; refused like the others
        # (KeyFileError) when missing or readable by others.
        pins = PinKeyring.load(settings.pin_key_path)
    return Runtime(settings, make_uow_factory(settings, engine, signer, pins), signer,
                   web_secret, engine, clock)
