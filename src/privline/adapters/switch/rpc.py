"""Kamailio's JSON-RPC over its UNIX datagram socket (jsonrpcs, transport 4)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from itertools import count
from pathlib import Path
from typing import Any

from privline.adapters.switch.errors import SwitchError

_ids = count(1)


def unix_request(path: Path, request: dict[str, Any], timeout: float, what: str) -> Any:
    """Send one JSON datagram to the UNIX socket ``path`` and return its JSON answer
    (the answer comes to a socket of our own, in a fresh folder beside ``path``)."""
    folder = tempfile.mkdtemp(prefix="rpc-", dir=path.parent)
    mine = os.path.join(folder, "c.sock")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(mine)
            sock.settimeout(timeout)
            sock.sendto(json.dumps(request).encode(), str(path))
            return json.loads(sock.recv(1 << 20))
    except (OSError, ValueError) as exc:
        raise SwitchError(f"{what} failed: {exc}", retryable=True) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(mine)
        with contextlib.suppress(OSError):
            os.rmdir(folder)


class KamailioRpc:
    def __init__(self, socket_path: Path, timeout: float = 2.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def call(self, method: str, *params: Any) -> Any:
        request = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": next(_ids)}
        reply = unix_request(self.socket_path, request, self.timeout, f"kamailio rpc {method}")
        if "error" in reply:
            raise SwitchError(f"kamailio rpc {method}: {reply['error']}")
        return reply.get("result")

    def end_call(self, call_id: str, from_tag: str, to_tag: str) -> None:
        """BYE both parties of this dialog."""
        self.call("dlg.terminate_dlg", call_id, from_tag, to_tag)
