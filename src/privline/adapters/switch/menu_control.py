"""The voice menu's control socket: how the call agent ends a call the menu holds.

A kiosk's call is a Kamailio dialog, which the agent ends by Kamailio's RPC
(``dlg.terminate_dlg``). A menu call is two dialogs the menu itself keeps (the phone's
and the trunk's); Kamailio only relays them. So when the agent finds a fault on a menu
call (a warning not played, the recording file gone) it asks the menu, over a UNIX
datagram socket in the switch's run folder (only the switch's own user can reach it,
unlike a port on 127.0.0.1), to send both BYEs. Request ``{"end": "<call-id>"}``;
answer ``{"ended": true}`` when the menu held the call, else ``false``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from privline.adapters.switch.rpc import unix_request

log = logging.getLogger("privline.switch.menu_control")


class MenuControlServer(asyncio.DatagramProtocol):
    """The menu's side: each request is answered at once; the BYEs follow."""

    def __init__(self, end: Callable[[str], bool]) -> None:
        self.end = end
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            call_id = str(json.loads(data)["end"])
        except (ValueError, KeyError, TypeError):
            return
        ended = self.end(call_id)
        log.warning("asked to end call %s: %s", call_id, "ending" if ended else "not held")
        if self.transport is not None and addr:
            self.transport.sendto(json.dumps({"ended": ended}).encode(), addr)


class MenuControl:
    """The agent's side."""

    def __init__(self, socket_path: Path, timeout: float = 2.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def end_call(self, call_id: str) -> bool:
        """Ask the menu to BYE both legs of ``call_id``; False: it holds no such call."""
        reply = unix_request(self.socket_path, {"end": call_id}, self.timeout,
                             "voice menu control")
        return bool(reply.get("ended")) if isinstance(reply, dict) else False
