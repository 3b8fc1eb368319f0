"""Test doubles for the switch, shipped in the package (as httpx ships MockTransport):
the routing runs against :class:`FakeKSR` and the agent against :class:`MockRtpengine`,
with no daemon.

:class:`MockRtpengine` keeps rtpengine's behaviours privline depends on: calls by
Call-ID; ``record-call=yes`` in an offer makes the call's pcap appear in the spool as
rtpengine's does (unless told it cannot write); ``query`` of an unknown call is an
error; ``play media`` answers with a duration. It answers the ng protocol on a UDP port
(:meth:`MockRtpengine.serve`) and, in process, Kamailio's rtpengine module calls
(:class:`FakeKSR`'s ``rtpengine``).

:class:`FakeKSR` is the part of Kamailio's KEMI module the routing uses: pseudo-variables
and headers of one SIP message at a time (:meth:`FakeKSR.message`), and a record of what
the routing did to it (replies, relays, removed headers, rtpengine flags, timers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privline.adapters.switch.ng import bdecode, bencode
from privline.adapters.switch.recordings import escaped


class MockRtpengine:
    def __init__(self, spool: Path | None = None, *, can_write: bool = True,
                 play_ms: int = 1500) -> None:
        self.spool = spool
        self.can_write = can_write
        self.play_ms = play_ms
        self.calls: dict[str, dict[str, Any]] = {}
        self.commands: list[dict[str, Any]] = []

    def handle(self, message: Mapping[str, Any]) -> dict[str, Any] | None:
        """One ng command, as rtpengine answers it (a subclass may answer None: no
        answer at all)."""
        self.commands.append(dict(message))
        command = str(message.get("command", ""))
        call_id = str(message.get("call-id", ""))
        if command == "ping":
            return {"result": "pong"}
        if command in ("offer", "answer"):
            flags = message.get("flags", [])
            record = "record-call=yes" in flags or message.get("record-call") == "yes"
            call = self.calls.setdefault(call_id, {"recorded": False, "offers": []})
            call["offers"].append(list(flags))
            if record and not call["recorded"]:
                call["recorded"] = True
                self._write_pcap(call_id)
            return {"result": "ok", "sdp": "v=0\r\n"}
        if call_id not in self.calls:
            return {"result": "error", "error-reason": "Unknown call-id"}
        if command == "delete":
            del self.calls[call_id]
            return {"result": "ok"}
        if command == "play media":
            if not message.get("from-tag") and "all" not in message.get("flags", []):
                # As rtpengine 10.5: a play needs a party, or "all" of them.
                return {"result": "error", "error-reason": "No participant party specified"}
            return {"result": "ok", "duration": self.play_ms}
        return {"result": "ok"}  # query, block media, unblock media

    def _write_pcap(self, call_id: str) -> None:
        if self.spool is None or not self.can_write:
            return
        folder = self.spool / "pcaps"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{escaped(call_id)}-0123456789abcdef.pcap").write_bytes(b"")

    async def serve(self, port: int = 0) -> tuple[asyncio.DatagramTransport, int]:
        """Answer the ng protocol on 127.0.0.1:``port`` (0: a free one)."""
        engine = self

        class Protocol(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
                cookie, _, body = data.partition(b" ")
                reply = engine.handle(bdecode(body))
                if reply is not None:  # None: no answer, as from a stalled rtpengine
                    self.transport.sendto(cookie + b" " + bencode(reply), addr)

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            Protocol, local_addr=("127.0.0.1", port))
        return transport, int(transport.get_extra_info("sockname")[1])


@dataclass
class Message:
    """One SIP message as the routing sees it."""

    method: str = "INVITE"
    call_id: str = "call-1@test"
    headers: dict[str, str] = field(default_factory=dict)
    ruri_user: str = "2025550143"
    source: str = "127.0.0.1"
    body: str = "v=0\r\nm=audio 4000 RTP/AVP 8\r\n"
    from_tag: str = "ft1"
    to_tag: str = ""
    status: int = 0  # for replies
    dlg_vars: dict[str, str] = field(default_factory=dict)


class _Pv:
    def __init__(self, ksr: FakeKSR) -> None:
        self.k = ksr

    def get(self, name: str) -> Any:
        m = self.k.msg
        values: dict[str, Any] = {
            "$rm": m.method, "$ci": m.call_id, "$rU": m.ruri_user, "$si": m.source,
            "$rb": m.body, "$ft": m.from_tag, "$tt": m.to_tag, "$rs": m.status,
            "$ru": self.k.ruri, "$dlg(callid)": m.call_id, "$dlg(from_tag)": m.from_tag,
            "$dlg(to_tag)": m.to_tag, "$T_reply_code": m.status,
        }
        if name.startswith("$dlg_var("):
            return m.dlg_vars.get(name[len("$dlg_var("):-1])
        return values.get(name)

    def sets(self, name: str, value: str) -> None:
        if name == "$ru":
            self.k.ruri = value
        elif name == "$du":
            self.k.duri = value
        elif name.startswith("$dlg_var("):
            self.k.msg.dlg_vars[name[len("$dlg_var("):-1]] = value


class _Hdr:
    def __init__(self, ksr: FakeKSR) -> None:
        self.k = ksr

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.k.msg.headers.items() if k.lower() == name.lower()),
                    None)

    def remove(self, name: str) -> int:
        self.k.msg.headers = {k: v for k, v in self.k.msg.headers.items()
                              if k.lower() != name.lower()}
        return 1

    def append_to_reply(self, text: str) -> int:
        self.k.reply_headers.append(text.strip())
        return 1

    def append(self, text: str) -> int:
        name, _, value = text.strip().partition(":")
        self.k.msg.headers[name.strip()] = value.strip()
        return 1


class _Tm:
    def __init__(self, ksr: FakeKSR) -> None:
        self.k = ksr

    def t_check_trans(self) -> int:
        return -1  # a new transaction unless a test says otherwise

    def t_newtran(self) -> int:
        # As tm does: 0 when the request's transaction exists already (a retransmission
        # that slipped past t_check_trans, e.g. read by another worker meanwhile).
        if self.k.msg.call_id in self.k.transactions:
            return 0
        self.k.transactions.add(self.k.msg.call_id)
        return 1

    def t_reply(self, code: int, text: str) -> int:
        self.k.replies.append((code, text))
        return 1

    def t_relay(self) -> int:
        # What leaves for the trunk: the message's headers as they are now.
        self.k.relayed.append((self.k.ruri, dict(self.k.msg.headers)))
        return 1 if self.k.trunk_up else -1

    def t_on_reply(self, name: str) -> None:
        return None

    def t_on_failure(self, name: str) -> None:
        return None


class _Rtpengine:
    def __init__(self, ksr: FakeKSR) -> None:
        self.k = ksr

    def rtpengine_offer(self, flags: str) -> int:
        self.k.offers.append(flags)
        if self.k.engine is None:
            return -1
        reply = self.k.engine.handle({"command": "offer", "call-id": self.k.msg.call_id,
                                      "from-tag": self.k.msg.from_tag,
                                      "flags": flags.split()})
        return 1 if reply is not None and reply["result"] == "ok" else -1

    def rtpengine_answer(self, flags: str) -> int:
        return 1

    def rtpengine_delete0(self) -> int:
        if self.k.engine is not None:
            self.k.engine.handle({"command": "delete", "call-id": self.k.msg.call_id})
        self.k.deleted.append(self.k.msg.call_id)
        return 1


class _Simple:
    """Modules whose calls the routing makes for their effect on Kamailio only."""

    def __init__(self, ksr: FakeKSR, **results: int) -> None:
        self.k = ksr
        self.results = results

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> int:
            self.k.calls.append((name, args))
            return self.results.get(name, 1)
        return call


class _Sl(_Simple):
    """The sl module: a stateless reply is recorded with the others (and as a call)."""

    def sl_send_reply(self, code: int, text: str) -> int:
        self.k.calls.append(("sl_send_reply", (code, text)))
        self.k.replies.append((code, text))
        return 1


class FakeKSR:
    def __init__(self, engine: MockRtpengine | None = None) -> None:
        self.engine = engine
        self.trunk_up = True
        self.transactions: set[str] = set()  # tm's table of INVITE transactions, by Call-ID
        self.log: list[tuple[str, str]] = []
        self.pv = _Pv(self)
        self.hdr = _Hdr(self)
        self.tm = _Tm(self)
        self.rtpengine = _Rtpengine(self)
        self.sl = _Sl(self)
        self.maxfwd = _Simple(self)
        self.dialog = _Simple(self)
        self.message(Message())

    def message(self, msg: Message, *, loose_route: bool = False) -> FakeKSR:
        """The next message the routing sees; resets what was recorded for the last."""
        self.msg = msg
        self.ruri = f"sip:{msg.ruri_user}@127.0.0.1"
        self.duri = ""
        self.replies: list[tuple[int, str]] = []
        self.reply_headers: list[str] = []
        self.relayed: list[tuple[str, dict[str, str]]] = []
        self.offers: list[str] = []
        self.deleted: list[str] = []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.siputils = _Simple(self, has_totag=1 if msg.to_tag else -1)
        self.rr = _Simple(self, loose_route=1 if loose_route else -1)
        return self

    @property
    def final_reply(self) -> tuple[int, str] | None:
        finals = [r for r in self.replies if r[0] >= 200]
        return finals[-1] if finals else None

    def __getattr__(self, level: str) -> Any:
        # KSR.info / notice / err / crit ...
        def write(text: str) -> None:
            self.log.append((level, text))
        return write
