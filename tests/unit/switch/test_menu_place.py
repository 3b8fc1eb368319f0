"""The voice menu's last steps of a call (`MenuCall.place`), against fake media, legs and
journal: a recorded call is only joined when its pcap exists after the offer that
turned recording on; without one it is a fault (both legs ended, nothing unheld, no
answer journalled, so nothing billed); a private call's media is never offered for
recording at all.

This is the menu's twin of the kiosk path's check (tests/unit/switch/test_router.py):
a path to a recording, so it is tested on its own."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from privline.adapters.switch import ivr
from privline.adapters.switch.decisions import RouteDecision
from privline.adapters.switch.ivr import MenuCall
from privline.adapters.switch.menu_core import MenuFacility
from privline.adapters.switch.recordings import escaped

CALL_ID = "menu-call-1@test"
PHONE = "phone-tag"


class FakeMedia:
    """Records every media command; ``connect(record=True)`` leaves a pcap in the spool
    (as rtpengine does before it answers) only when told to."""

    def __init__(self, spool: Path, *, writes_pcap: bool) -> None:
        self.spool, self.writes_pcap = spool, writes_pcap
        self.commands: list[tuple[Any, ...]] = []

    async def play(self, call_id: str, tag: str, path: Path, *, repeat: int = 1) -> int:
        self.commands.append(("play", tag, path.name))
        return 0

    async def stop(self, call_id: str, tag: str) -> None:
        self.commands.append(("stop", tag))

    async def block(self, call_id: str, tag: str, on: bool) -> None:
        self.commands.append(("block", tag, on))

    async def connect(self, call_id: str, from_tag: str, to_tag: str, offer: str,
                      answer: str, *, record: bool) -> None:
        self.commands.append(("connect", record))
        if record and self.writes_pcap:
            (self.spool / "pcaps").mkdir(parents=True, exist_ok=True)
            (self.spool / "pcaps" / f"{escaped(call_id)}-0a1b.pcap").write_bytes(b"")

    async def delete(self, call_id: str) -> None:
        self.commands.append(("delete",))


class FakeLeg:
    def __init__(self) -> None:
        self.byes = 0
        self.ended = asyncio.Event()

    async def bye(self) -> None:
        self.byes += 1
        self.ended.set()


class FakeTrunk(FakeLeg):
    """The called party answers at once and presses 1 (accepts) when asked."""

    instances: list[FakeTrunk] = []

    def __init__(self, endpoint: object, trunk: object, number: str) -> None:
        super().__init__()
        self.call_id, self.number = "trunk-1@test", number
        self.answered = True
        FakeTrunk.instances.append(self)

    async def invite(self, sdp: str) -> Any:
        return SimpleNamespace(status=200, body="v=0 far answer")

    def cancel(self) -> None:
        pass


def decision(mode: str) -> RouteDecision:
    return RouteDecision(mode=mode, reason="ok", announcements=(),
                         rate_per_minute=Decimal("0.21") if mode == "recorded" else Decimal(0),
                         max_minutes=0, number="+12025550143")


def place(tmp_path: Path, mode: str, *, writes_pcap: bool) -> tuple[MenuCall, FakeMedia,
                                                                     list[tuple[Any, ...]]]:
    media = FakeMedia(tmp_path, writes_pcap=writes_pcap)
    events: list[tuple[Any, ...]] = []
    menu: Any = SimpleNamespace(
        media=media, endpoint=None, trunk=("127.0.0.1", 5090), calls={},
        cfg=SimpleNamespace(recording_dir=tmp_path, minute_seconds=6.0),
        prompt=lambda prompt, language, **_: Path(f"{prompt}.wav"),
        prompts=SimpleNamespace(ringback=lambda: Path("ring.wav")),
        agent_alive=lambda: True,
        event=lambda kind, call_id, **kw: events.append((kind, kw)))
    phone = FakeLeg()
    phone.call_id, phone.from_tag = CALL_ID, PHONE  # type: ignore[attr-defined]
    phone.invite = SimpleNamespace(body="v=0 phone offer")  # type: ignore[attr-defined]
    call = MenuCall(menu, phone)  # type: ignore[arg-type]
    call.facility = MenuFacility("wall", "Wall Phone Jail")
    call.far_sdp = "v=0 offer to the far side"
    call.who = {"facility": "wall", "resident": "m1", "dialled": "+12025550143"}

    async def run() -> None:
        call.digits.put_nowait((call.far_tag, "1"))  # the called party accepts
        phone.ended.set()  # the resident hangs up once connected: place() returns
        await call.place(decision(mode))
    asyncio.run(run())
    return call, media, events


@pytest.fixture(autouse=True)
def fake_trunk(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeTrunk.instances.clear()
    monkeypatch.setattr(ivr, "TrunkLeg", FakeTrunk)
    monkeypatch.setattr(ivr, "DIGIT_TIMEOUT_S", 0.05)


def test_a_recorded_call_whose_pcap_is_missing_is_a_fault_never_joined_nor_billed(
        tmp_path: Path) -> None:
    call, media, events = place(tmp_path, "recorded", writes_pcap=False)
    kinds = [kind for kind, _ in events]
    assert "answered" not in kinds  # never billed
    refused = [kw for kind, kw in events if kind == "refused"]
    assert refused == [refused[0]] and refused[0]["reason"] == "recording_fault"
    assert refused[0]["fault"] is True and refused[0]["code"] == 500
    # Both parties stayed held: nothing was unblocked; the media session was deleted
    # and both legs ended.
    assert not [c for c in media.commands if c[0] == "block" and c[2] is False]
    assert ("delete",) in media.commands
    assert call.phone.byes == 1 and FakeTrunk.instances[0].byes == 1  # type: ignore[attr-defined]


def test_a_recorded_call_with_its_pcap_is_joined_and_answered(tmp_path: Path) -> None:
    _, media, events = place(tmp_path, "recorded", writes_pcap=True)
    assert [kind for kind, _ in events] == ["decided", "answered"]
    assert ("connect", True) in media.commands
    unblocked = media.commands.index(("block", PHONE, False))
    assert media.commands.index(("connect", True)) < unblocked  # recording before joining


def test_a_private_call_is_never_offered_for_recording(tmp_path: Path) -> None:
    _, media, events = place(tmp_path, "private", writes_pcap=True)
    assert [kind for kind, _ in events] == ["decided", "answered"]
    assert [c for c in media.commands if c[0] == "connect"] == [("connect", False)]
    assert not (tmp_path / "pcaps").exists()
