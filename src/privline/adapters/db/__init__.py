"""The database adapter: SQLite by default, PostgreSQL when the URL says so."""

from privline.adapters.db import account_tables, vault_tables  # noqa: F401 - tables join the metadata
from privline.adapters.db.engine import make_engine, make_uow_factory, migrate, schema_ready

__all__ = ["make_engine", "make_uow_factory", "migrate", "schema_ready"]
