"""Just enough SIP (RFC 3261, over UDP on loopback) for the voice menu's two call legs.

The menu is a back-to-back user agent: it answers the phone's leg itself (Kamailio
relays the INVITE to it) and places the trunk leg as a client. This module parses and
builds the messages; :mod:`privline.adapters.switch.ivr` keeps the dialogs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

# RFC 3261 7.3.3 compact header names.
_COMPACT = {"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact",
            "l": "content-length", "c": "content-type", "k": "supported"}
_TAG = re.compile(r";\s*tag=([^;>\s]+)", re.IGNORECASE)
_URI = re.compile(r"<([^>]+)>")
_HOSTPORT = re.compile(r"^sips?:(?:[^@;>]*@)?([^:;>]+)(?::(\d+))?")


class SipParseError(ValueError):
    """A datagram that is not a SIP message this menu can read; it is dropped."""


@dataclass
class SipMessage:
    first: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""

    @property
    def is_request(self) -> bool:
        return not self.first.startswith("SIP/2.0")

    @property
    def method(self) -> str:
        if self.is_request:
            return self.first.split(" ", 1)[0]
        return self.get("cseq").split()[-1] if self.get("cseq") else ""

    @property
    def status(self) -> int:
        return 0 if self.is_request else int(self.first.split(" ", 2)[1])

    @property
    def uri(self) -> str:
        return self.first.split(" ")[1] if self.is_request else ""

    @property
    def cseq(self) -> int:
        value = self.get("cseq").split()
        return int(value[0]) if value and value[0].isdigit() else 0

    @property
    def call_id(self) -> str:
        return self.get("call-id")

    def get(self, name: str) -> str:
        found = self.all(name)
        return found[0] if found else ""

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def encode(self) -> bytes:
        body = self.body.encode()
        lines = [self.first, *(f"{_canonical(k)}: {v}" for k, v in self.headers
                               if k != "content-length")]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _canonical(name: str) -> str:
    special = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}
    return special.get(name, "-".join(p.capitalize() for p in name.split("-")))


def parse(data: bytes) -> SipMessage:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("not UTF-8") from exc
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if not lines or not (lines[0].startswith("SIP/2.0 ") or lines[0].endswith(" SIP/2.0")):
        raise SipParseError("no SIP start line")
    msg = SipMessage(lines[0])
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:  # folded continuation
            name, value = msg.headers[-1]
            msg.headers[-1] = (name, value + " " + line.strip())
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise SipParseError(f"bad header line {line[:40]!r}")
        key = name.strip().lower()
        msg.headers.append((_COMPACT.get(key, key), value.strip()))
    if msg.status == 0 and not msg.is_request:
        raise SipParseError("bad status line")
    msg.body = body
    return msg


def tag_of(value: str) -> str:
    found = _TAG.search(value)
    return found.group(1) if found else ""


def uri_of(value: str) -> str:
    found = _URI.search(value)
    return (found.group(1) if found else value.split(";")[0]).strip()


def user_of(uri: str) -> str:
    """The user part of a SIP URI: the dialled digits of a stock phone's INVITE."""
    rest = uri.split(":", 1)[-1]
    return rest.split("@", 1)[0] if "@" in rest else ""


def address_of(uri: str, default_port: int = 5060) -> tuple[str, int]:
    found = _HOSTPORT.match(uri_of(uri))
    if found is None:
        raise SipParseError(f"no host in {uri!r}")
    return found.group(1), int(found.group(2) or default_port)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def response(request: SipMessage, status: int, reason: str, *, to_tag: str = "",
             headers: Iterable[tuple[str, str]] = (), body: str = "") -> SipMessage:
    """A response that copies the request's Via, From, To (tagged), Call-ID and CSeq."""
    to = request.get("to")
    if to_tag and not tag_of(to):
        to = f"{to};tag={to_tag}"
    msg = SipMessage(f"SIP/2.0 {status} {reason}")
    msg.headers += [("via", v) for v in request.all("via")]
    msg.headers += [("from", request.get("from")), ("to", to),
                    ("call-id", request.call_id), ("cseq", request.get("cseq"))]
    msg.headers += list(headers)
    if body:
        msg.headers.append(("content-type", "application/sdp"))
    msg.body = body
    return msg


def request(method: str, uri: str, *, via: str, from_: str, to: str, call_id: str,
            cseq: int, contact: str, headers: Iterable[tuple[str, str]] = (),
            body: str = "") -> SipMessage:
    msg = SipMessage(f"{method} {uri} SIP/2.0")
    msg.headers += [("via", via), ("max-forwards", "70"), ("from", from_), ("to", to),
                    ("call-id", call_id), ("cseq", f"{cseq} {method}"),
                    ("contact", contact), *headers]
    if body:
        msg.headers.append(("content-type", "application/sdp"))
    msg.body = body
    return msg
