"""The voice menu's control socket: the agent's request to end a call reaches the menu,
and the answer says whether the menu held that call."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from privline.adapters.switch.errors import SwitchError
from privline.adapters.switch.menu_control import MenuControl, MenuControlServer


def test_the_agent_asks_the_menu_to_end_a_call_and_hears_whether_it_held_it(
        tmp_path: Path) -> None:
    path = tmp_path / "ivr-control.sock"
    asked: list[str] = []

    def end(call_id: str) -> bool:
        asked.append(call_id)
        return call_id == "held@test"

    async def scenario() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: MenuControlServer(end), local_addr=str(path), family=socket.AF_UNIX)
        try:
            control = MenuControl(path)
            return (await asyncio.to_thread(control.end_call, "held@test"),
                    await asyncio.to_thread(control.end_call, "gone@test"))
        finally:
            transport.close()

    assert asyncio.run(scenario()) == (True, False)
    assert asked == ["held@test", "gone@test"]


def test_no_menu_listening_is_a_retryable_switch_error(tmp_path: Path) -> None:
    with pytest.raises(SwitchError) as failed:
        MenuControl(tmp_path / "absent.sock", timeout=0.2).end_call("x@test")
    assert failed.value.retryable
