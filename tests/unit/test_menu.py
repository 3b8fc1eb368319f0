"""The voice menu's pure parts: what a dialled string means, what is said, and the SIP
messages the menu reads and writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from privline.adapters.switch import sip
from privline.domain import menu


def test_the_private_key_before_the_number_asks_for_a_private_call() -> None:
    assert menu.parse_dialled("712125550101") == menu.Dialled("12125550101", True)
    assert menu.parse_dialled("2025550143") == menu.Dialled("2025550143", False)
    assert menu.parse_dialled("7") == menu.Dialled("7", False)


def test_words_come_in_the_callers_language_with_the_rate() -> None:
    assert "12 cents" in menu.words("rate", "en", rate_per_minute=Decimal("0.12"))
    assert "12 centavos" in menu.words("rate", "es", rate_per_minute=Decimal("0.12"))
    assert menu.language_of(None, "es-US") == "es"
    assert menu.language_of("fr", None) == "en"


@pytest.mark.parametrize("reason", ["number_blocked", "insufficient_balance",
                                    "privilege_unknown"])
def test_each_denial_has_its_own_plain_words(reason: str) -> None:
    general = menu.words("denied", "en")
    assert menu.words(menu.denial_prompt(reason), "en") != general


def test_a_reason_without_words_falls_back_to_the_general_refusal() -> None:
    assert menu.words("denied.rate_above_cap", "es") == menu.words("denied", "es")


INVITE = (
    "INVITE sip:712125550101@127.0.0.1:5064 SIP/2.0\r\n"
    "v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bKb\r\n"
    "Record-Route: <sip:127.0.0.1:5060;lr>\r\n"
    "f: <sip:wall@127.0.0.1>;tag=abc\r\nt: <sip:712125550101@127.0.0.1>\r\n"
    "i: call-1@test\r\nCSeq: 1 INVITE\r\nm: <sip:wall@127.0.0.1:6000>\r\n"
    "Content-Length: 4\r\n\r\nv=0\n"
)


def test_a_stock_phones_invite_is_read_with_compact_headers() -> None:
    msg = sip.parse(INVITE.encode())
    assert msg.method == "INVITE" and msg.call_id == "call-1@test"
    assert sip.user_of(msg.uri) == "712125550101"
    assert sip.tag_of(msg.get("from")) == "abc"
    assert sip.address_of(msg.get("contact")) == ("127.0.0.1", 6000)
    assert len(msg.all("via")) == 2


def test_a_response_copies_the_dialog_headers_and_tags_the_to() -> None:
    msg = sip.parse(INVITE.encode())
    answer = sip.parse(sip.response(msg, 200, "OK", to_tag="xyz", body="v=0\r\n").encode())
    assert answer.status == 200 and answer.method == "INVITE"
    assert sip.tag_of(answer.get("to")) == "xyz"
    assert answer.all("via") == msg.all("via")
    assert answer.body == "v=0\r\n" and answer.get("content-length") == "5"


def test_a_datagram_that_is_not_sip_is_refused() -> None:
    with pytest.raises(sip.SipParseError):
        sip.parse(b'{"callid": "x", "event": 1}')
