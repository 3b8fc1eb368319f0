"""What every SQL repository shares: the unit of work's connection, and its driver for
the call path's statements (driver.py)."""

from __future__ import annotations

from sqlalchemy import Connection

from privline.adapters.db.driver import Driver


class SqlRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.driver = Driver(conn)
