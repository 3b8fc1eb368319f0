"""How the call agent reads journal lines: which events end a call for the announcer,
which release rtpengine's media, and which reach the records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from privline.adapters.switch.agent import LiveTail, ends_call, releases_media, to_event
from privline.adapters.switch.announcer import Announcer
from privline.adapters.switch.config import SwitchConfig
from privline.adapters.switch.journal import JournalReader, JournalWriter
from privline.adapters.switch.ng import AsyncNgClient
from privline.adapters.switch.records import CallRecords
from privline.adapters.switch.testing import MockRtpengine
from privline.settings import Settings


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


def test_a_dialog_end_after_its_bye_asks_rtpengine_for_no_second_delete(
    tmp_path: Path,
) -> None:
    """The routing deletes the call in rtpengine at the BYE; the dialog's end then needs
    no delete. A dialog end with no BYE before it (Kamailio's own timer) does."""
    engine = MockRtpengine()
    for call_id in ("by-bye", "by-timer"):
        engine.handle({"command": "offer", "call-id": call_id, "flags": []})
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))

    def ends(announcer: Announcer) -> None:
        announcer.ended("by-bye", delete_media=False)  # the BYE
        announcer.ended("by-bye", delete_media=True)  # its dialog's end
        announcer.ended("by-timer", delete_media=True)

    until_deleted(engine, cfg, ends, "by-timer")
    deletes = [c["call-id"] for c in engine.commands if c["command"] == "delete"]
    assert deletes == ["by-timer"]
    assert "by-bye" in engine.calls  # nobody deleted it here (the routing does, at the BYE)


def test_a_dialog_end_journalled_just_before_its_bye_asks_for_no_delete(
    tmp_path: Path,
) -> None:
    """Kamailio's dialog module reports a dialog's end while it routes the BYE, so the
    end reaches the journal a moment before the BYE: read together, the end needs no
    delete of its own. A dialog end with no BYE (Kamailio's own timer) gets one."""
    engine = MockRtpengine()
    for call_id in ("by-bye", "by-timer"):
        engine.handle({"command": "offer", "call-id": call_id, "flags": []})
    cfg = SwitchConfig.from_settings(Settings.from_env({"PRIVLINE_HOME": str(tmp_path)}))
    cfg.journal_dir.mkdir(parents=True)
    journal = JournalWriter(cfg.journal_dir)
    journal.write("ended", "by-bye", from_tag="a", to_tag="b")
    journal.write("bye", "by-bye")
    journal.write("ended", "by-timer", from_tag="a", to_tag="b")

    def ends(announcer: Announcer) -> None:
        LiveTail(JournalReader(cfg.journal_dir, persist=False), announcer).tell_all(
            JournalReader(cfg.journal_dir, persist=False).pending())

    until_deleted(engine, cfg, ends, "by-timer")
    assert [c["call-id"] for c in engine.commands if c["command"] == "delete"] == ["by-timer"]
    assert "by-bye" in engine.calls  # the routing deletes it, at the BYE


def until_deleted(engine: MockRtpengine, cfg: SwitchConfig,
                  tell: Callable[[Announcer], None], call_id: str) -> None:
    """Tell an announcer (on ``engine``) the ends ``tell`` gives it, then wait until
    ``call_id`` is deleted: an event, with a deadline only to report it never came."""
    async def run() -> None:
        transport, port = await engine.serve()
        ng = await AsyncNgClient.connect("127.0.0.1", port)
        announcer = Announcer(cfg, ng, CallRecords(lambda: None, 60))  # type: ignore[arg-type, return-value]
        try:
            tell(announcer)
            deadline = time.monotonic() + 30
            while call_id in engine.calls:
                assert time.monotonic() < deadline, f"{call_id} never deleted"
                await asyncio.sleep(0.01)
        finally:
            ng.close()
            transport.close()

    asyncio.run(run())
