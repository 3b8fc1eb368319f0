"""The voice menu's digit entry (`MenuCall.collect`), against a fake media player: a
digit stops the prompt (barge-in), `#` ends an entry, silence repeats the prompt once
and then gives up, and only the asked party's keys count."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from privline.adapters.switch import ivr
from privline.adapters.switch.ivr import MenuCall

PHONE, FAR = "phone-tag", "far-tag"


class FakeMedia:
    def __init__(self, prompt_ms: int) -> None:
        self.prompt_ms = prompt_ms
        self.played: list[tuple[str, str]] = []
        self.stopped: list[str] = []

    async def play(self, call_id: str, tag: str, path: Path, *, repeat: int = 1) -> int:
        self.played.append((tag, path.name))
        return self.prompt_ms

    async def stop(self, call_id: str, tag: str) -> None:
        self.stopped.append(tag)


def menu_call(media: FakeMedia) -> MenuCall:
    menu: Any = SimpleNamespace(media=media,
                                prompt=lambda prompt, language, **_: Path(f"{prompt}.wav"))
    phone: Any = SimpleNamespace(call_id="c1@test", from_tag=PHONE)
    return MenuCall(menu, phone)


def collect(media: FakeMedia, keys: list[tuple[str, str]], **kwargs: Any) -> str:
    async def run() -> str:
        call = menu_call(media)
        for key in keys:
            call.digits.put_nowait(key)
        return await call.collect("enter_pin", **kwargs)
    return asyncio.run(run())


@pytest.fixture(autouse=True)
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ivr, "DIGIT_TIMEOUT_S", 0.05)


def test_a_digit_stops_the_prompt_and_hash_ends_the_entry() -> None:
    media = FakeMedia(prompt_ms=60_000)  # a long prompt, still playing at the first key
    assert collect(media, [(PHONE, "1"), (PHONE, "2"), (PHONE, "#"), (PHONE, "9")]) == "12"
    assert media.stopped == [PHONE]  # barge-in: stopped once, at the first digit
    assert media.played == [(PHONE, "enter_pin.wav")]  # and not repeated


def test_silence_repeats_the_prompt_once_then_gives_up() -> None:
    media = FakeMedia(prompt_ms=0)
    assert collect(media, []) == ""
    assert media.played == [(PHONE, "enter_pin.wav")] * 2
    assert media.stopped == []


def test_keys_of_the_other_party_do_not_count() -> None:
    media = FakeMedia(prompt_ms=0)
    assert collect(media, [(FAR, "1"), (FAR, "#")]) == ""
    assert collect(media, [(FAR, "1"), (PHONE, "4"), (PHONE, "#")]) == "4"


def test_a_hash_alone_is_no_entry_and_digits_stop_at_the_most_allowed() -> None:
    assert collect(FakeMedia(0), [(PHONE, "#"), (PHONE, "5"), (PHONE, "#")]) == "5"
    assert collect(FakeMedia(0), [(PHONE, d) for d in "123456"], max_digits=4) == "1234"
    assert collect(FakeMedia(0), [(PHONE, "6"), (PHONE, "7")], one_key=True) == "6"


def test_an_unfinished_entry_is_taken_when_the_keys_stop() -> None:
    # Digits without `#`: after the timeout between digits, what was keyed is the entry.
    assert collect(FakeMedia(0), [(PHONE, "4"), (PHONE, "2")]) == "42"
