"""SQL implementation of the portal's repository (registrations and their numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select

from privline.adapters.db import tables as t
from privline.adapters.db.tables import portal as pt
from privline.domain.registry import Kind, Status
from privline.services.ports.portal import RegisteredNumber


class SqlPortal:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_registration(self, reference_hash: str, name: str, profession: Kind,
                         credential: str, email: str, at: datetime) -> int:
        return int(self.conn.execute(insert(pt.portal_registrations).values(
            reference_hash=reference_hash, name=name, profession=profession.value,
            credential=credential, email=email, created_at=at)
            .returning(pt.portal_registrations.c.id)).scalar_one())

    def link_number(self, registration_id: int, number: str, entry_id: int,
                    matched_entry_id: int | None) -> None:
        self.conn.execute(insert(pt.portal_numbers).values(
            registration_id=registration_id, number=number, entry_id=entry_id,
            matched_entry_id=matched_entry_id))

    def numbers_for_reference(self, reference_hash: str) -> Sequence[RegisteredNumber] | None:
        reg, num, entry = (pt.portal_registrations.c, pt.portal_numbers.c,
                           t.registry_entries.c)
        found = self.conn.execute(select(reg.id).where(reg.reference_hash == reference_hash)
                                  ).scalar_one_or_none()
        if found is None:
            return None
        rows = self.conn.execute(
            select(num.number, num.entry_id, entry.status)
            .join(t.registry_entries, entry.id == num.entry_id)
            .where(num.registration_id == found).order_by(num.id))
        return [RegisteredNumber(r[0], r[1], Status(r[2])) for r in rows]

    def emails_for(self, entry_ids: Sequence[int]) -> Mapping[int, str]:
        if not entry_ids:
            return {}
        reg, num = pt.portal_registrations.c, pt.portal_numbers.c
        rows = self.conn.execute(
            select(num.entry_id, reg.email)
            .join(pt.portal_registrations, reg.id == num.registration_id)
            .where(num.entry_id.in_(list(entry_ids))).order_by(num.id))
        # The registration that made an entry owns its contact details: a later one that
        # names it (older data linked twins) never replaces them.
        found: dict[int, str] = {}
        for entry_id, email in rows:
            found.setdefault(entry_id, email)
        return found
