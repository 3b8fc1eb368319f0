"""The call agent's ng client: a request is sent again while rtpengine does not answer,
an answer to any of its tries ends it, and no answer at all is a timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from privline.adapters.switch.errors import NgTimeout
from privline.adapters.switch.ng import AsyncNgClient, bencode

QUICK_S = 0.2  # a try that is meant to go unanswered
PATIENT_S = 30.0  # a try that is meant to be answered, however busy the machine


class Rtpengine(asyncio.DatagramProtocol):
    """Answers each request only once it has received it ``answer_after`` times, and
    answers the first copy (as rtpengine answers a resent cookie from its cache)."""

    def __init__(self, answer_after: int) -> None:
        self.answer_after = answer_after
        self.received: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        if len(self.received) == self.answer_after and self.transport is not None:
            cookie = self.received[0].split(b" ", 1)[0]
            self.transport.sendto(cookie + b" " + bencode({"result": "pong"}), addr)


async def ask(answer_after: int, tries: int, timeout: float = QUICK_S
              ) -> tuple[dict[str, Any] | None, int]:
    loop = asyncio.get_running_loop()
    transport, engine = await loop.create_datagram_endpoint(
        lambda: Rtpengine(answer_after), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    client = await AsyncNgClient.connect("127.0.0.1", port, timeout=timeout, tries=tries)
    try:
        return await client.request("ping"), len(engine.received)
    except NgTimeout:
        return None, len(engine.received)
    finally:
        client.close()
        transport.close()


def test_an_answer_to_the_first_try_ends_the_request() -> None:
    reply, sent = asyncio.run(ask(answer_after=1, tries=3, timeout=PATIENT_S))
    assert reply == {"result": "pong"} and sent == 1


def test_a_request_not_answered_is_sent_again_and_a_late_answer_still_counts() -> None:
    # The answer (to the first copy's cookie) comes only after the second copy arrived,
    # so it reaches the client in a later try than the first: on a busy machine maybe
    # after a third copy went too, hence many tries; it ends the request either way.
    reply, sent = asyncio.run(ask(answer_after=2, tries=50))
    assert reply == {"result": "pong"} and sent >= 2


@pytest.mark.parametrize("tries", [1, 2])
def test_no_answer_within_the_tries_is_a_timeout(tries: int) -> None:
    reply, sent = asyncio.run(ask(answer_after=99, tries=tries))
    assert reply is None and sent == tries
