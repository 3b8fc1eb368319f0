"""How the call agent reads journal lines: which events end a call for the announcer,
which release rtpengine's media, and which reach the records."""

from __future__ import annotations

import pytest

from privline.adapters.switch.agent import ends_call, releases_media, to_event


@pytest.mark.parametrize(("raw", "ends", "releases"), [
    ({"kind": "bye"}, True, False),
    ({"kind": "ended"}, True, True),
    ({"kind": "refused", "code": 403}, True, False),
    ({"kind": "failed", "code": 486}, True, False),
    # Kamailio's own INVITE timeout: the far end's late 200 may still connect the call,
    # and a recorded call must still get its warning then.
    ({"kind": "failed", "code": 408}, False, False),
    ({"kind": "answered"}, False, False),
    ({"kind": "decided"}, False, False),
])
def test_which_events_end_a_call_and_release_its_media(
    raw: dict[str, object], ends: bool, releases: bool,
) -> None:
    assert (ends_call(raw), releases_media(raw)) == (ends, releases)


def test_only_record_events_with_a_time_and_call_id_reach_the_records() -> None:
    at = "2026-11-29T07:00:00+00:00"
    event = to_event({"kind": "bye", "call_id": "c1", "at": at})
    assert event is not None and (event.call_id, event.kind, event.seq) == ("c1", "bye", 0)
    assert to_event({"kind": "decided", "call_id": "c1", "at": at}) is None
    assert to_event({"kind": "bye", "call_id": "", "at": at}) is None
    assert to_event({"kind": "bye", "call_id": "c1", "at": "yesterday"}) is None
