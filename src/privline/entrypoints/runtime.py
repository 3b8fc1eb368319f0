"""What every entrypoint needs at run time: settings, the store, the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from privline.adapters.db import make_engine, make_uow_factory, migrate, schema_ready
from privline.adapters.signing import Ed25519Signer
from privline.adapters.vault import MasterKey
from privline.entrypoints.web.session import load_or_create_secret, load_secret
from privline.services.ports import UnitOfWorkFactory
from privline.settings import Settings


class NotInitialised(Exception):
    """privline init has not run against this home or database."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    uow: UnitOfWorkFactory
    signer: Ed25519Signer | None = None
    web_secret: bytes | None = None  # signs web session cookies; None: a per-process one

    @classmethod
    def open(cls, settings: Settings | None = None, *, create: bool = False) -> Runtime:
        """Open the store; with ``create``, make PRIVLINE_HOME and migrate the schema."""
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
        else:
            if not schema_ready(engine):
                raise NotInitialised("the database has no privline schema; run `privline init`")
            signer = Ed25519Signer.load(settings.signing_key_path)
            web_secret = load_secret(settings.web_secret_path)
        return cls(settings, make_uow_factory(settings, engine, signer), signer, web_secret)
