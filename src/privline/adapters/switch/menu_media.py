"""rtpengine's side of the voice menu: one rtpengine call per menu call, keyed by the
phone leg's Call-ID, with two parties: the phone (its own From tag) and the far side
(a tag the menu makes up, since the trunk leg is a separate SIP dialog).

While the menu talks to the phone, the far side's address is the menu's media sink (a
socket that drops what it gets); when the trunk answers, its SDP replaces the sink by a
re-offer and answer. Recording is explicitly off until then and is turned on only by
:meth:`MenuMedia.connect` for a call the core decided ``recorded``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from privline.adapters.switch.ng import AsyncNgClient

BASE = {"replace": ["origin", "session-connection"], "ICE": "remove"}
_MEDIA = re.compile(r"^m=audio \d+ (\S+) (.*)$", re.MULTILINE)


def sink_answer(offer_sdp: str, port: int) -> str:
    """An answer SDP that takes the offer's codecs and points at the sink on loopback."""
    found = _MEDIA.search(offer_sdp)
    proto, payloads = (found.group(1), found.group(2)) if found else ("RTP/AVP", "8 101")
    lines = ["v=0", "o=privline-menu 1 1 IN IP4 127.0.0.1", "s=menu",
             "c=IN IP4 127.0.0.1", "t=0 0", f"m=audio {port} {proto} {payloads}"]
    lines += [line for line in offer_sdp.splitlines()
              if line.startswith(("a=rtpmap:", "a=fmtp:", "a=ptime:"))]
    lines.append("a=sendrecv")
    return "\r\n".join(lines) + "\r\n"


class MenuMedia:
    def __init__(self, ng: AsyncNgClient, sink_port: int) -> None:
        self.ng = ng
        self.sink_port = sink_port

    async def _call(self, command: str, call_id: str, **params: Any) -> dict[str, Any]:
        return await self.ng.request(command, **{"call-id": call_id, **params})

    async def answer_phone(self, call_id: str, phone_tag: str, far_tag: str,
                           phone_sdp: str) -> tuple[str, str]:
        """(SDP for the phone, SDP for the trunk): the phone's media flows at once, to
        the sink, never recorded."""
        offer = await self._call("offer", call_id, **BASE, **{
            "from-tag": phone_tag, "sdp": phone_sdp, "record call": "no"})
        far_sdp = str(offer["sdp"])
        answer = await self._call("answer", call_id, **BASE, **{
            "from-tag": phone_tag, "to-tag": far_tag,
            "sdp": sink_answer(far_sdp, self.sink_port), "record call": "no"})
        return str(answer["sdp"]), far_sdp

    async def connect(self, call_id: str, phone_tag: str, far_tag: str, phone_sdp: str,
                      trunk_sdp: str, *, record: bool) -> None:
        """Point the far side at the trunk's media; record only when told to."""
        flag = "yes" if record else "no"
        await self._call("offer", call_id, **BASE, **{
            "from-tag": phone_tag, "sdp": phone_sdp, "record call": flag})
        await self._call("answer", call_id, **BASE, **{
            "from-tag": phone_tag, "to-tag": far_tag, "sdp": trunk_sdp, "record call": flag})

    async def play(self, call_id: str, tag: str, path: Path, *, repeat: int = 1) -> int:
        """Play a WAV (``repeat`` times) to the party with this tag; its length in ms."""
        params: dict[str, Any] = {"from-tag": tag, "file": str(path)}
        if repeat > 1:
            params["repeat-times"] = repeat
        reply = await self._call("play media", call_id, **params)
        return int(reply.get("duration", 0))

    async def stop(self, call_id: str, tag: str) -> None:
        await self._call("stop media", call_id, **{"from-tag": tag})

    async def block(self, call_id: str, tag: str, on: bool) -> None:
        """Hold back (or let through) what this party sends: its audio and its RFC 4733
        key presses, which ``block media`` alone lets pass (rtpengine still reports
        each digit to the menu)."""
        verb = "block" if on else "unblock"
        for what in ("media", "DTMF"):
            await self._call(f"{verb} {what}", call_id, **{"from-tag": tag})

    async def delete(self, call_id: str) -> None:
        await self._call("delete", call_id)
