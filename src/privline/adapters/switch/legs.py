"""The voice menu's two SIP call legs over one UDP socket on 127.0.0.1.

The phone's leg: Kamailio relays a stock phone's INVITE here (record-routed, so the
phone's ACK and BYE come back through Kamailio, which journals the BYE as for any call);
the menu answers it as a user agent server. The trunk's leg: the menu places it as a
user agent client once the core has decided. Retransmissions follow RFC 3261's timers
in a simplified form (T1 doubling up to T2), enough for UDP on loopback under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, cast

from privline.adapters.switch import sip
from privline.adapters.switch.sip import SipMessage

log = logging.getLogger("privline.switch.legs")
Addr = tuple[str, int]
T1, T2, TIMEOUT_S = 0.5, 4.0, 32.0


class Endpoint(asyncio.DatagramProtocol):
    """The socket: responses go to their client transaction (by Via branch), requests
    to ``on_request``."""

    def __init__(self, host: str, port: int,
                 on_request: Callable[[SipMessage, Addr], None]) -> None:
        self.host, self.port = host, port
        self.on_request = on_request
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[str, ClientTransaction] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def error_received(self, exc: Exception) -> None:
        return None  # ICMP unreachable: the transaction's retransmission timer copes

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            msg = sip.parse(data)
        except sip.SipParseError:
            return
        if msg.is_request:
            self.on_request(msg, (str(addr[0]), int(addr[1])))
            return
        branch = _branch(msg.get("via"))
        tx = self.pending.get(branch)
        if tx is not None:
            tx.received(msg)

    def send(self, msg: SipMessage, addr: Addr) -> None:
        if self.transport is not None:
            self.transport.sendto(msg.encode(), addr)

    @property
    def contact(self) -> str:
        return f"<sip:privline@{self.host}:{self.port}>"

    def via(self, branch: str) -> str:
        return f"SIP/2.0/UDP {self.host}:{self.port};branch={branch};rport"


def _branch(via: str) -> str:
    for part in via.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "branch":
            return value
    return ""


class ClientTransaction:
    """One request sent until its final answer (INVITE: until any answer stops the
    retransmissions; the final one still ends it)."""

    def __init__(self, endpoint: Endpoint, msg: SipMessage, addr: Addr,
                 on_provisional: Callable[[SipMessage], None] | None = None) -> None:
        self.endpoint, self.msg, self.addr = endpoint, msg, addr
        self.branch = _branch(msg.get("via"))
        self.on_provisional = on_provisional
        self.final: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        self._heard = False

    def received(self, msg: SipMessage) -> None:
        self._heard = True
        if msg.status < 200:
            if self.on_provisional is not None:
                self.on_provisional(msg)
        elif not self.final.done():
            self.final.set_result(msg)

    async def run(self, timeout: float = TIMEOUT_S) -> SipMessage | None:
        """The final response, or None when none came in time."""
        self.endpoint.pending[self.branch] = self
        try:
            interval, waited = T1, 0.0
            while waited < timeout:
                if not (self._heard and self.msg.method == "INVITE"):
                    self.endpoint.send(self.msg, self.addr)
                try:
                    return await asyncio.wait_for(asyncio.shield(self.final), interval)
                except TimeoutError:
                    waited += interval
                    interval = min(interval * 2, T2)
            return None
        finally:
            # Keep listening briefly for a retransmitted final answer (absorbed).
            asyncio.get_running_loop().call_later(
                TIMEOUT_S, self.endpoint.pending.pop, self.branch, None)


class PhoneLeg:
    """The phone's INVITE, answered by the menu as a user agent server."""

    def __init__(self, endpoint: Endpoint, invite: SipMessage, source: Addr) -> None:
        self.endpoint, self.invite, self.source = endpoint, invite, source
        self.call_id = invite.call_id
        self.to_tag = sip.new_tag()
        self.from_tag = sip.tag_of(invite.get("from"))
        self.cseq = 1
        self.last: SipMessage | None = None
        self.acked = asyncio.Event()
        self.ended = asyncio.Event()
        self._resend: asyncio.Task[None] | None = None
        contact = invite.get("contact")
        self.target = sip.uri_of(contact) if contact else sip.uri_of(invite.get("from"))
        # Kamailio record-routes the menu's calls: the menu's own requests go back
        # through it (RFC 3261 12.1.1: the UAS keeps the Record-Route order).
        self.routes = [r.strip() for value in invite.all("record-route")
                       for r in value.split(",")]

    def reply(self, status: int, reason: str, *, body: str = "",
              headers: tuple[tuple[str, str], ...] = ()) -> None:
        extra = headers
        if 100 < status < 300:
            extra = (*(("record-route", r) for r in self.invite.all("record-route")),
                     ("contact", self.endpoint.contact), *headers)
        self.last = sip.response(self.invite, status, reason,
                                 to_tag=self.to_tag if status > 100 else "",
                                 headers=extra, body=body)
        self.endpoint.send(self.last, self.source)
        if 200 <= status < 300:
            self._resend = asyncio.ensure_future(self._until_acked(self.last))

    async def _until_acked(self, msg: SipMessage) -> None:
        interval, waited = T1, 0.0
        while waited < TIMEOUT_S:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.acked.wait(), interval)
                return
            self.endpoint.send(msg, self.source)
            waited += interval
            interval = min(interval * 2, T2)

    def retransmitted(self) -> None:
        if self.last is not None:
            self.endpoint.send(self.last, self.source)

    async def bye(self) -> None:
        """End the answered leg from the menu's side."""
        if self.ended.is_set():
            return
        self.ended.set()
        self.cseq += 1
        msg = sip.request(
            "BYE", self.target, via=self.endpoint.via(sip.new_branch()),
            from_=f"{self.invite.get('to')};tag={self.to_tag}", to=self.invite.get("from"),
            call_id=self.call_id, cseq=self.cseq, contact=self.endpoint.contact,
            headers=[("route", r) for r in self.routes])
        hop = self.routes[0] if self.routes else self.target
        await ClientTransaction(self.endpoint, msg, sip.address_of(hop)).run(8.0)

    def close(self) -> None:
        if self._resend is not None:
            self._resend.cancel()


class TrunkLeg:
    """The call to the dialled number, placed by the menu as a user agent client."""

    def __init__(self, endpoint: Endpoint, trunk: Addr, number: str) -> None:
        self.endpoint, self.trunk = endpoint, trunk
        self.call_id = f"menu-{sip.new_tag()}{sip.new_tag()}@privline"
        self.from_tag = sip.new_tag()
        host = f"{trunk[0]}:{trunk[1]}"
        self.uri = f"sip:{number}@{host}"
        self.from_ = f"<sip:privline@{endpoint.host}>;tag={self.from_tag}"
        self.to = f"<{self.uri}>"
        self.cseq = 1
        self.target = self.uri
        self.answered = False
        self.ended = asyncio.Event()
        self._invite: SipMessage | None = None

    async def invite(self, sdp: str, on_ringing: Callable[[SipMessage], None] | None = None,
                     timeout: float = 60.0) -> SipMessage | None:
        """Place the call; the final answer (None: none came). A 2xx is acknowledged and
        its To tag and Contact become the dialog's; any other final is acknowledged on
        the same branch as RFC 3261 17.1.1.3 says."""
        self._invite = sip.request(
            "INVITE", self.uri, via=self.endpoint.via(sip.new_branch()), from_=self.from_,
            to=self.to, call_id=self.call_id, cseq=self.cseq, contact=self.endpoint.contact,
            body=sdp)
        tx = ClientTransaction(self.endpoint, self._invite, self.trunk, on_ringing)
        final = await tx.run(timeout)
        if final is None:
            return None
        if 200 <= final.status < 300:
            self.answered = True
            self.to = final.get("to")
            if final.get("contact"):
                self.target = sip.uri_of(final.get("contact"))
            ack = sip.request("ACK", self.target, via=self.endpoint.via(sip.new_branch()),
                              from_=self.from_, to=self.to, call_id=self.call_id,
                              cseq=self.cseq, contact=self.endpoint.contact)
            self.endpoint.send(ack, self._addr())
        else:
            ack = sip.request("ACK", self.uri, via=self._invite.get("via"), from_=self.from_,
                              to=final.get("to"), call_id=self.call_id, cseq=self.cseq,
                              contact=self.endpoint.contact)
            self.endpoint.send(ack, self.trunk)
        return final

    def cancel(self) -> None:
        """Give up on an INVITE not yet answered (the phone hung up)."""
        if self._invite is None or self.answered:
            return
        msg = sip.request("CANCEL", self.uri, via=self._invite.get("via"), from_=self.from_,
                          to=self.to, call_id=self.call_id, cseq=self.cseq,
                          contact=self.endpoint.contact)
        asyncio.ensure_future(ClientTransaction(self.endpoint, msg, self.trunk).run(8.0))

    async def bye(self) -> None:
        if self.ended.is_set() or not self.answered:
            return
        self.ended.set()
        self.cseq += 1
        msg = sip.request("BYE", self.target, via=self.endpoint.via(sip.new_branch()),
                          from_=self.from_, to=self.to, call_id=self.call_id,
                          cseq=self.cseq, contact=self.endpoint.contact)
        await ClientTransaction(self.endpoint, msg, self._addr()).run(8.0)

    def _addr(self) -> Addr:
        try:
            return sip.address_of(self.target)
        except sip.SipParseError:
            return self.trunk
