"""The call log (`calls list`, /api/v1/calls, /staff/calls): every decision and every
refusal before one, filtered by facility, resident, number, mode and time, and paged by
a cursor that neither repeats nor skips a call, even at one instant and while calls
keep coming; on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from privline.domain.policy import CallRequest
from privline.services import call_log, call_records, calls, facilities
from privline.services.errors import Forbidden, InvalidInput
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.calls import CallRefusal
from tests.conftest import (
    ADMIN,
    ATTORNEY_NUMBER,
    AUDITOR,
    FAMILY_NUMBER,
    INVESTIGATOR,
    NOW,
    PRISON,
    ROSA,
    ROSA_PIN,
    STAFF,
    World,
)
from tests.integration.vault_support import SWITCH

BEN, BEN_PIN = "R2002", "1357"


def decide(uow: UnitOfWorkFactory, *, to: str = FAMILY_NUMBER, resident: str = ROSA,
           at: datetime = NOW) -> int:
    pin = BEN_PIN if resident == BEN else ROSA_PIN
    calls.decide_call(uow, STAFF, CallRequest(PRISON.id, resident, to, False, pin),
                      now=at)
    page = call_log.search(uow, ADMIN, call_log.parse_call_filter(), limit=1)
    record = page.items[0].record
    assert record is not None
    return record.id


def refuse(uow: UnitOfWorkFactory, call_id: str, *, at: datetime = NOW) -> None:
    call_records.call_refused(uow, SWITCH, CallRefusal(
        call_id, at, PRISON.id, ROSA, "2125550100", "pin_required", 403))


def everything(uow: UnitOfWorkFactory, limit: int, **filters: str) -> list[list[str]]:
    """Walk the log page by page with each page's cursor."""
    where = call_log.parse_call_filter(**filters)
    pages, before = [], None
    while True:
        page = call_log.search(uow, AUDITOR, where, limit=limit, before=before)
        pages.append([row.cursor for row in page.items])
        if page.next is None:
            assert not page.more
            return pages
        assert page.more and page.next == page.items[-1].cursor
        before = page.next


@pytest.fixture
def log(uow: UnitOfWorkFactory, world: World) -> dict[str, str]:
    """Rosa's and Ben's calls over three days, with a refusal and a decision at one
    instant (the cursor's tie-break)."""
    facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id=BEN, pin=BEN_PIN,
                            opening_balance_cents=500, now=NOW)
    day2 = NOW + timedelta(days=1)
    made = {
        "day1-family": f"c{decide(uow, at=NOW)}",
        "day1-attorney": f"c{decide(uow, to=ATTORNEY_NUMBER, at=NOW)}",
        "day2-ben": f"c{decide(uow, resident=BEN, to='(212) 555-0199', at=day2)}",
    }
    refuse(uow, "refused-1@test", at=day2)  # the same instant as Ben's call
    refuse(uow, "refused-2@test", at=NOW + timedelta(days=2))
    page = call_log.search(uow, ADMIN, call_log.parse_call_filter(mode="refused"), limit=2)
    made["day3-refusal"], made["day2-refusal"] = (r.cursor for r in page.items)
    return made


def test_the_log_lists_decisions_and_refusals_newest_first(
        uow: UnitOfWorkFactory, log: dict[str, str]) -> None:
    (page,) = everything(uow, limit=100)
    # At one instant the decision comes before the refusal; then the higher id first.
    assert page == [log["day3-refusal"], log["day2-ben"], log["day2-refusal"],
                    log["day1-attorney"], log["day1-family"]]


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_paging_by_cursor_neither_repeats_nor_skips(
        uow: UnitOfWorkFactory, log: dict[str, str], limit: int) -> None:
    pages = everything(uow, limit=limit)
    walked = [cursor for page in pages for cursor in page]
    assert walked == everything(uow, limit=100)[0]
    assert all(len(p) == limit for p in pages[:-1]) and 1 <= len(pages[-1]) <= limit


def test_a_call_placed_while_paging_does_not_shift_the_next_page(
        uow: UnitOfWorkFactory, log: dict[str, str]) -> None:
    where = call_log.parse_call_filter()
    first = call_log.search(uow, AUDITOR, where, limit=2)
    decide(uow, at=NOW + timedelta(days=3))  # newer than everything listed
    second = call_log.search(uow, AUDITOR, where, limit=2, before=first.next)
    assert [r.cursor for r in second.items] == [log["day2-refusal"], log["day1-attorney"]]


def test_filters_by_resident_number_mode_and_time(
        uow: UnitOfWorkFactory, log: dict[str, str]) -> None:
    def found(**filters: str) -> list[str]:
        return everything(uow, limit=100, **filters)[0]

    assert found(resident=BEN) == [log["day2-ben"]]
    # Any format of the number; a refusal has no number, so a number search leaves it out.
    assert found(number="212 555 0100") == [log["day1-family"]]
    assert found(number="tel:+1-415-555-0142") == [log["day1-attorney"]]
    assert found(mode="private") == [log["day1-attorney"]]
    assert found(mode="refused") == [log["day3-refusal"], log["day2-refusal"]]
    assert found(facility="elsewhere") == []
    day2 = (NOW + timedelta(days=1)).isoformat()
    assert found(since=day2, until=(NOW + timedelta(days=2)).isoformat()) == [
        log["day2-ben"], log["day2-refusal"]]
    # The same instant in another zone is the same instant.
    in_new_york = (NOW + timedelta(days=1)).astimezone(timezone(timedelta(hours=-4)))
    assert found(until=in_new_york.isoformat()) == [log["day1-attorney"], log["day1-family"]]
    assert found(mode="recorded", resident=ROSA, since="2026-07-01T00:00:00Z") == [
        log["day1-family"]]


def test_a_date_without_a_zone_is_refused_unless_the_caller_names_the_days_zone(
        uow: UnitOfWorkFactory, log: dict[str, str]) -> None:
    for bad in ({"since": "2026-07-01T12:00:00"}, {"until": "2026-07-02"},
                {"since": "yesterday"}):
        with pytest.raises(InvalidInput) as refused:
            call_log.parse_call_filter(**bad)
        assert refused.value.code == "invalid_search"
        assert set(refused.value.details["fields"]) == set(bad)
    # The console's form says its days are UTC days: "until" a day is its end.
    day = call_log.parse_call_filter(since="2026-07-01", until="2026-07-01", day_zone=UTC)
    assert (day.since, day.until) == (datetime(2026, 7, 1, tzinfo=UTC),
                                      datetime(2026, 7, 2, tzinfo=UTC))
    found = call_log.search(uow, AUDITOR, day).items
    assert [r.cursor for r in found] == [log["day1-attorney"], log["day1-family"]]
    with pytest.raises(InvalidInput) as backwards:
        call_log.parse_call_filter(since="2026-07-02T00:00Z", until="2026-07-01T00:00Z")
    assert set(backwards.value.details["fields"]) == {"until"}
    with pytest.raises(InvalidInput) as bad:
        call_log.parse_call_filter(number="not a number", mode="loud")
    assert set(bad.value.details["fields"]) == {"number", "mode"}


def test_a_cursor_that_is_not_one_or_names_no_call_is_refused(
        uow: UnitOfWorkFactory, log: dict[str, str]) -> None:
    where = call_log.parse_call_filter()
    for cursor in ("42", "c-1", "x1", "c99999", "r99999", "c1; drop table calls"):
        with pytest.raises(InvalidInput) as refused:
            call_log.search(uow, AUDITOR, where, before=cursor)
        assert refused.value.code == "invalid_cursor"
    with pytest.raises(InvalidInput):
        call_log.search(uow, AUDITOR, where, limit=0)


def test_the_log_is_read_by_the_roles_the_permissions_table_names(
        uow: UnitOfWorkFactory, log: dict[str, str]) -> None:
    where = call_log.parse_call_filter()
    assert call_log.search(uow, STAFF, where).items
    with pytest.raises(Forbidden):
        call_log.search(uow, INVESTIGATOR, where)
    with pytest.raises(Forbidden):
        call_log.search(uow, SWITCH, where)
