"""The call log as `privline calls list`, ``GET /api/v1/calls`` and the console's calls
page show it: every decision (the switch's and `call decide`'s) and every call the
switch refused before any decision, newest first, filtered, and paged by a cursor.

A cursor names the last row of a page ("c12" a decision, "r3" a refusal); the next page
starts after it, so calls placed while someone pages do not shift or repeat rows the way
an offset would. Read-only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from privline.domain.access import Action
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor, CallRecord
from privline.domain.numbers import to_e164
from privline.domain.policy import Mode
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.calls import CallRefusal
from privline.services.ports.records import CallFilter, LogPosition

# "refused": turned away before any decision (no PIN, untrusted phone, overload...).
REFUSED = "refused"
MODES = (*(m.value for m in Mode), REFUSED)
MAX_LIMIT = 10000
_CURSOR = re.compile(r"([cr])([0-9]{1,18})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NEEDS_ZONE = "a date-time with its zone, such as 2027-01-31T00:00:00Z"


@dataclass(frozen=True)
class LoggedCall:
    """One row: a decision, or a refusal before any decision (then ``record`` is None)."""

    cursor: str
    at: datetime
    record: CallRecord | None = None
    refusal: CallRefusal | None = None


@dataclass(frozen=True)
class CallLogPage:
    items: Sequence[LoggedCall]
    more: bool
    next: str | None  # pass as ``before`` for the next page; None on the last


def parse_call_filter(*, facility: str = "", resident: str = "", number: str = "",
                      mode: str = "", since: str = "", until: str = "",
                      day_zone: tzinfo | None = None) -> CallFilter:
    """A call search from options, query or form text; a bad field is named in the error.

    ``since`` and ``until`` are ISO date-times with a zone: without one the instant is
    ambiguous, so it is refused. A bare date (YYYY-MM-DD) is taken only when the caller
    says in which zone its days run (the console's form says UTC); ``until`` then means
    the end of that day."""
    errors: dict[str, str] = {}
    e164 = None
    if number.strip():
        try:
            e164 = to_e164(number.strip())
        except InvalidNumber as exc:
            errors["number"] = exc.message
    mode = mode.strip()
    if mode and mode not in MODES:
        errors["mode"] = f"mode is one of {', '.join(MODES)}"
    moments: dict[str, datetime | None] = {}
    for name, raw in (("since", since.strip()), ("until", until.strip())):
        moments[name] = None
        if not raw:
            continue
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            errors[name] = f"{name}: {_NEEDS_ZONE}"
            continue
        if _DAY.fullmatch(raw) and day_zone is not None:
            moment = moment.replace(tzinfo=day_zone)
            if name == "until":
                moment += timedelta(days=1)  # a day means "to the end of that day"
        elif moment.tzinfo is None:
            errors[name] = f"{name}: {_NEEDS_ZONE} (no zone given)"
            continue
        moments[name] = moment
    start, end = moments["since"], moments["until"]
    if start is not None and end is not None and start >= end:
        errors["until"] = "until must come after since"
    if errors:
        raise InvalidInput("check the search: " + "; ".join(errors.values()),
                           code="invalid_search", fields=errors)
    return CallFilter(facility.strip() or None, resident.strip() or None, e164,
                      mode or None, start, end)


def _position(raw: str) -> tuple[str, int]:
    found = _CURSOR.fullmatch(raw.strip())
    if found is None:
        raise InvalidInput("before: a cursor as printed by the previous page, such as c42",
                           code="invalid_cursor", fields={"before": "not a cursor"})
    return ("call" if found[1] == "c" else "refusal"), int(found[2])


def search(uow_factory: UnitOfWorkFactory, actor: Actor, where: CallFilter, *,
           limit: int = 100, before: str | None = None) -> CallLogPage:
    """One page of the log, newest first; ``before`` is the previous page's ``next``."""
    check_allowed(actor, Action.CALL_READ)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT}", code="invalid_page")
    wanted = _position(before) if before else None
    # A refusal has no number and no decision's mode: those filters leave them out.
    decisions = where.mode != REFUSED
    refusals = where.mode in (None, REFUSED) and where.number is None
    decided = CallFilter(where.facility_id, where.resident_id, where.number,
                         None if where.mode == REFUSED else where.mode, where.since,
                         where.until)
    with uow_factory() as uow:
        after: LogPosition | None = None
        if wanted is not None:
            after = uow.records.log_position(*wanted)
            if after is None:
                raise InvalidInput(f"before: no call {before} in the log",
                                   code="invalid_cursor", fields={"before": "no such call"})
        rows = [LoggedCall(f"c{c.id}", c.at, record=c)
                for c in (uow.records.calls(decided, limit + 1, 0, after) if decisions else ())]
        rows += [LoggedCall(f"r{r.id}", r.refusal.at, refusal=r.refusal)
                 for r in (uow.records.refusals(where, limit + 1, after) if refusals else ())]
    # The same order as the queries': newest first, decisions before refusals at one
    # instant, then the higher id first.
    rows.sort(key=lambda r: (r.at, r.record is not None, int(r.cursor[1:])), reverse=True)
    page = rows[:limit]
    more = len(rows) > limit
    return CallLogPage(page, more, page[-1].cursor if more else None)
