"""A small client for rtpengine's ng control protocol.

Each message is ``<cookie> <bencoded dictionary>`` over UDP; the reply carries the same
cookie. rtpengine answers ``{"result": "ok", ...}`` or ``{"result": "error",
"error-reason": ...}``. An ``ok`` does not prove a recording exists: check the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from privline.adapters.switch.errors import NgError, NgTimeout

Bencodable = bytes | str | int | Sequence[Any] | Mapping[str, Any]


def bencode(value: Bencodable) -> bytes:
    if isinstance(value, bool):
        return bencode(int(value))
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, Mapping):
        items = sorted((k.encode(), v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    if isinstance(value, Sequence):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Any:
    """Decode one bencoded value; byte strings come back as str (UTF-8, replaced)."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise NgError("trailing bytes after bencoded value")
    return value


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    try:
        lead = data[i : i + 1]
        if lead == b"i":
            end = data.index(b"e", i)
            return int(data[i + 1 : end]), end + 1
        if lead == b"l":
            items: list[Any] = []
            i += 1
            while data[i : i + 1] != b"e":
                item, i = _decode(data, i)
                items.append(item)
            return items, i + 1
        if lead == b"d":
            result: dict[str, Any] = {}
            i += 1
            while data[i : i + 1] != b"e":
                key, i = _decode(data, i)
                result[str(key)], i = _decode(data, i)
            return result, i + 1
        colon = data.index(b":", i)
        size = int(data[i:colon])
        start = colon + 1
        if start + size > len(data):
            raise NgError("truncated bencoded string")
        return data[start : start + size].decode("utf-8", "replace"), start + size
    except (ValueError, IndexError) as exc:
        raise NgError(f"malformed bencoded data at {i}") from exc


def _encode_message(cookie: str, command: str, params: Mapping[str, Any]) -> bytes:
    return cookie.encode() + b" " + bencode({**params, "command": command})


def _decode_reply(packet: bytes) -> tuple[str, dict[str, Any]]:
    cookie, sep, body = packet.partition(b" ")
    if not sep:
        raise NgError("ng reply without cookie")
    reply = bdecode(body)
    if not isinstance(reply, dict):
        raise NgError("ng reply is not a dictionary")
    return cookie.decode(), cast(dict[str, Any], reply)


def _checked(command: str, reply: dict[str, Any]) -> dict[str, Any]:
    if reply.get("result") == "error":
        raise NgError(f"rtpengine refused {command}: {reply.get('error-reason', '?')}")
    return reply


class NgClient:
    """Blocking client: one request at a time, retried on timeout."""

    def __init__(self, host: str, port: int, *, timeout: float = 1.0, tries: int = 2) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.tries = tries

    def request(self, command: str, **params: Any) -> dict[str, Any]:
        cookie = secrets.token_hex(8)
        packet = _encode_message(cookie, command, params)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(self.address)
            for _ in range(self.tries):
                sock.send(packet)
                deadline = time.monotonic() + self.timeout
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    try:
                        got_cookie, reply = _decode_reply(sock.recv(65535))
                    except (TimeoutError, ConnectionRefusedError):
                        break
                    if got_cookie == cookie:
                        return _checked(command, reply)
        raise NgTimeout(f"rtpengine did not answer {command} at {self.address}")

    def ping(self) -> bool:
        try:
            return self.request("ping").get("result") == "pong"
        except NgError:
            return False


class _Expired(Exception):
    """One try of a request had no answer in time."""


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(_Expired())


class AsyncNgClient(asyncio.DatagramProtocol):
    """Asyncio client: many requests in flight, matched by cookie."""

    def __init__(self, *, timeout: float = 1.0, tries: int = 2) -> None:
        self.timeout = timeout
        self.tries = tries
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def connect(cls, host: str, port: int, **kwargs: Any) -> AsyncNgClient:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(**kwargs), remote_addr=(host, port)
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        with contextlib.suppress(NgError):
            cookie, reply = _decode_reply(data)
            future = self._pending.get(cookie)
            if future is not None and not future.done():
                future.set_result(reply)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: rtpengine is down; the waiting requests time out.
        return None

    async def request(self, command: str, **params: Any) -> dict[str, Any]:
        if self._transport is None:
            raise NgError("ng client is not connected")
        cookie = secrets.token_hex(8)
        packet = _encode_message(cookie, command, params)
        loop = asyncio.get_running_loop()
        try:
            for _ in range(self.tries):
                # A future and a timer per try (wait_for and shield cost several objects
                # and callbacks per request, on the call agent's busiest path). A late
                # answer to an earlier try resolves the current one: same cookie.
                future: asyncio.Future[dict[str, Any]] = loop.create_future()
                self._pending[cookie] = future
                timer = loop.call_later(self.timeout, _expire, future)
                self._transport.sendto(packet)
                try:
                    reply = await future
                except _Expired:
                    continue
                finally:
                    timer.cancel()
                return _checked(command, reply)
        finally:
            self._pending.pop(cookie, None)
        raise NgTimeout(f"rtpengine did not answer {command}")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
