"""What every SQL repository shares: the unit of work's driver for the call path's
statements (driver.py), and its SQLAlchemy connection for the rest."""

from __future__ import annotations

from sqlalchemy import Connection

from privline.adapters.db.driver import Driver


class SqlRepository:
    def __init__(self, conn: Connection | Driver) -> None:
        self.driver = conn if isinstance(conn, Driver) else Driver.over(conn)

    @property
    def conn(self) -> Connection:
        # Made on first use (driver.py): the call path's repositories seldom need it.
        return self.driver.conn
