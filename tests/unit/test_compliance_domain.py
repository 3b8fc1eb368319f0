"""The statement's pure parts: periods, canonical bytes, differences, registry history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from privline.domain.compliance import (
    InvalidPeriod,
    canonical_bytes,
    differences,
    parse_period,
    schedule,
)
from privline.domain.registry import Kind, Source, Status
from privline.domain.registry_history import AuditRow, EntryRow, Interval, timelines


def at(month: int, day: int) -> datetime:
    return datetime(2027, month, day, tzinfo=UTC)


def test_a_half_year_is_a_utc_range_with_its_end_excluded() -> None:
    h1, h2 = parse_period("2027-H1"), parse_period(" 2027-H2 ")
    assert (h1.start, h1.end) == (at(1, 1), at(7, 1))
    assert (h2.start, h2.end) == (at(7, 1), datetime(2028, 1, 1, tzinfo=UTC))
    assert h1.months() == ["2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]
    assert h2.words() == "1 July 2027 to 31 December 2027"
    assert h1.as_of(at(3, 5)) == at(3, 5) and h1.as_of(at(9, 1)) == h1.end
    for bad in ("2027-H3", "2027H1", "27-H1", "2027-h1", ""):
        with pytest.raises(InvalidPeriod):
            parse_period(bad)


def test_five_years_are_ten_statements() -> None:
    labels = [p.label for p in schedule(date(2027, 3, 1), 5)]
    assert labels[:3] == ["2027-H1", "2027-H2", "2028-H1"] and labels[-1] == "2031-H2"
    assert len(labels) == 10


def test_canonical_bytes_are_sorted_compact_utf8_and_refuse_floats() -> None:
    assert canonical_bytes({"b": 1, "a": ["é", None, True]}) == \
        '{"a":["é",null,true],"b":1}'.encode()
    for bad in (1.5, Decimal("0.11"), date(2027, 1, 1)):
        with pytest.raises(TypeError):
            canonical_bytes({"x": bad})


def test_differences_name_each_changed_leaf_and_match_lists_by_id() -> None:
    stated = {"total": {"calls": 3}, "facilities": [{"id": "a", "n": 1}, {"id": "b", "n": 2}]}
    data = {"total": {"calls": 4}, "facilities": [{"id": "b", "n": 2}, {"id": "a", "n": 5}]}
    assert [(d.path, d.stated, d.recomputed) for d in differences(stated, data)] == [
        ("facilities.a.n", 1, 5), ("total.calls", 3, 4)]
    assert differences(stated, stated) == []
    assert [d.path for d in differences({"x": 1}, {"x": True})] == ["x"]


def event(seq: int, when: datetime, action: str, entry: int, **details: object) -> AuditRow:
    return AuditRow(seq, when, "staff:sam", action, f"registry:{entry}", details)


def test_an_entry_protects_only_while_verified_by_its_events() -> None:
    events = [
        event(1, at(1, 5), "registry.request", 7, number="+13125550177"),
        event(2, at(2, 1), "registry.verify", 7, number="+13125550177"),
        event(3, at(3, 1), "registry.revoke", 7, number="+13125550177"),
        event(4, at(4, 1), "registry.verify", 7, number="+13125550177"),
        # An imported entry staff revoked: verified from its row's creation until then.
        event(5, at(5, 1), "registry.revoke", 9, number="+18005550100"),
    ]
    rows = {9: EntryRow(9, "+18005550100", Kind.PHYSICIAN, Source.IMPORT, at(1, 2))}
    lines = timelines(events, rows)
    assert lines[7].intervals() == [Interval("+13125550177", at(2, 1), at(3, 1)),
                                    Interval("+13125550177", at(4, 1), None)]
    assert lines[7].source is Source.RESIDENT_REQUEST
    assert lines[7].status_at(at(1, 20)) is Status.PENDING
    assert lines[7].status_at(at(2, 1)) is Status.PENDING  # a change counts after its moment
    assert lines[9].intervals() == [Interval("+18005550100", at(1, 2), at(5, 1))]
    assert not lines[9].intervals()[0].covers(at(5, 1))
