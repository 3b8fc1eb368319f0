"""Call records: decisions, a call's life, events applied once, refusals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, insert, select, update

from privline.adapters.db import driver as sql
from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.domain.audit_chain import (
    canonical_json,
)
from privline.domain.model import CallRecord, WarningPlayed
from privline.domain.policy import Decision
from privline.services.ports.calls import CallRefusal

_CALL_COLUMNS = [t.calls.c[name] for name in (
    "id", "sip_call_id", "at", "facility_id", "resident_id", "number", "mode", "reason",
    "rate_per_minute", "max_minutes", "review", "answered_at", "ended_at", "duration_s",
    "charge_cents", "end_reason", "fault", "accepted_at")]


_REFUSAL_COLUMNS = [t.call_refusals.c[name] for name in (
    "sip_call_id", "at", "facility_id", "resident_id", "dialled", "reason", "sip_code")]


class SqlCalls(SqlRepository):
    def add(self, at: datetime, facility_id: str, resident_id: str, dialled: str,
            private_requested: bool, decision: Decision, sip_call_id: str | None = None
            ) -> int | None:
        found = self.driver.one(sql.ADD_CALL, (
            sip_call_id, self.driver.time_in(at), facility_id, resident_id, dialled[:64],
            decision.number, private_requested, decision.mode.value, decision.reason.value,
            self.driver.decimal_in(decision.rate_per_minute), decision.max_minutes,
            decision.review))
        record_id = None if found is None else found[0]
        return None if record_id is None else int(record_id)

    def get(self, sip_call_id: str) -> CallRecord | None:
        record = self.life(sip_call_id)
        if record is None:
            return None
        return replace(record, warnings=self.warnings(record.id))

    def warnings(self, call_id: int) -> tuple[WarningPlayed, ...]:
        d = self.driver
        return tuple(WarningPlayed(d.time_out(at), prompt, json.loads(evidence))  # type: ignore[arg-type]
                     for at, prompt, evidence in d.rows(sql.CALL_WARNINGS, (call_id,)))

    def life(self, sip_call_id: str) -> CallRecord | None:
        # Straight on the driver, one statement: the call agent reads the record for
        # every event (its warnings, one more statement and a JSON parse each, are not
        # read: no event needs them).
        d = self.driver
        row = d.one(sql.CALL_BY_SIP_ID, (sip_call_id,))
        if row is None:
            return None
        record = dict(zip(sql.CALL_COLUMNS, row, strict=True))
        for name in ("at", "answered_at", "ended_at", "accepted_at"):
            record[name] = d.time_out(record[name])
        record["rate_per_minute"] = Decimal(record["rate_per_minute"])
        record["review"] = bool(record["review"])
        return CallRecord(**record)

    def update(self, call_id: int, **fields: object) -> None:
        life = sql.CALL_LIFE_COLUMNS
        if not fields.keys() <= life.keys():
            # Anything else goes through SQLAlchemy's own conversions.
            self.conn.execute(update(t.calls).where(t.calls.c.id == call_id).values(**fields))
            return
        d = self.driver
        values = [d.time_in(v) if life[k] == "time" else v  # type: ignore[arg-type]
                  for k, v in fields.items()]
        assignments = ", ".join(f"{k} = ?" for k in fields)
        d.rows(sql.Statement(f"UPDATE calls SET {assignments} WHERE id = ?"),  # noqa: S608
               (*values, call_id))

    def add_warning(self, call_id: int, warning: WarningPlayed) -> None:
        # On the driver: one per answered call, on the call agent's path.
        d = self.driver
        d.rows(sql.ADD_WARNING, (call_id, d.time_in(warning.at), warning.prompt,
                                 canonical_json(warning.evidence)))

    def claim_event(self, sip_call_id: str, kind: str, seq: int, at: datetime) -> bool:
        """Note one switch event; False when it was applied before (a replay). The
        unique key stops two concurrent appliers; only the call agent applies events."""
        return self.driver.one(sql.CLAIM_EVENT, (sip_call_id, kind, seq,
                                                 self.driver.time_in(at))) is not None

    def add_refusal(self, refusal: CallRefusal) -> None:
        self.conn.execute(insert(t.call_refusals).values(
            sip_call_id=refusal.sip_call_id, at=refusal.at, facility_id=refusal.facility_id,
            resident_id=refusal.resident_id, dialled=refusal.dialled, reason=refusal.reason,
            sip_code=refusal.sip_code))

    def refusal(self, sip_call_id: str) -> CallRefusal | None:
        row = self.conn.execute(select(*_REFUSAL_COLUMNS).where(
            t.call_refusals.c.sip_call_id == sip_call_id)).first()
        return None if row is None else CallRefusal(**row._mapping)

    def open_calls(self) -> Sequence[CallRecord]:
        c = t.calls.c
        rows = self.conn.execute(select(*_CALL_COLUMNS).where(
            c.sip_call_id.is_not(None), c.ended_at.is_(None), c.mode != "denied")
            .order_by(c.id)).all()
        return self._with_warnings(rows)

    def _with_warnings(self, rows: Sequence[Row[Any]]) -> Sequence[CallRecord]:
        ids = [r[0] for r in rows]
        warnings: dict[int, list[WarningPlayed]] = {i: [] for i in ids}
        if ids:
            w = t.call_warnings.c
            for call_id, at, prompt, evidence in self.conn.execute(
                    select(w.call_id, w.at, w.prompt, w.evidence)
                    .where(w.call_id.in_(ids)).order_by(w.id)):
                warnings[call_id].append(WarningPlayed(at, prompt, json.loads(evidence)))
        return [CallRecord(**dict(r._mapping), warnings=tuple(warnings[r[0]])) for r in rows]
