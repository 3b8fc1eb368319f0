"""Stock phones through the voice menu (issue 14): sipp sends only the dialled number and
RFC 4733 digits from its bundled captures; the real Kamailio, rtpengine, voice menu and
call agent do the rest; sipp behind the trunk is the called party, who presses a key
chosen by the number's last digit (scenarios/called_party.xml: 2 refuses, 5 stays
silent, 6 blocks, anything else accepts).

The menu finds the facility by the phone's address: this switch has one facility whose
phones are 127.0.0.1, so it runs on its own (the session's switch has several there).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from privline.adapters.switch.recordings import pcap_files
from tests.e2e.conftest import ATTORNEY, BLOCKED, NEEDED, ORDINARY, UNREGISTERED
from tests.e2e.sniff import Sniffer
from tests.e2e.stack import Stack, start_stack, stop_pid

pytestmark = pytest.mark.e2e

MINUTE_SECONDS = 6.0
PIN, BROKE_PIN, SPANISH_PIN = "2468", "1357", "8642"
AWAY_PIN = PIN  # another facility's resident: the same PIN is hers there
PHONE_USER, PHONE_PASSWORD = "away-cell-7", "correct-horse-42"
REFUSES, SILENT, BLOCKS = "2025550152", "2025550155", "2025550156"
FAULTS = "2025550157"  # accepts; only the fault test dials it
RINGS = "2025550158"  # accepts; only the ringback test dials it
WRONG_PASSWORD_TO = "2025550159"  # never reached: the phone's password is wrong


@pytest.fixture(scope="module")
def menu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    missing = [b for b in NEEDED if not (shutil.which(b) or shutil.which(b, path="/usr/sbin"))]
    if missing:
        pytest.fail(f"e2e needs {', '.join(missing)} (see the README's install commands)")
    if os.geteuid() != 0:
        pytest.skip("e2e sniffs loopback RTP and needs root")
    s = start_stack(tmp_path_factory.mktemp("privline-menu"), MINUTE_SECONDS,
                    far_end="called_party.xml")
    try:
        p = s.privline
        p("init")
        p("facility", "add", "--id", "wall", "--name", "Wall Phone Jail", "--kind", "jail",
          "--adp", "500", "--phones", "127.0.0.1/32")
        p("facility", "add", "--id", "away", "--name", "Away Jail", "--kind", "jail",
          "--adp", "500", "--phones", "10.0.0.0/8")
        for rid, pin, balance, language in (("m1", PIN, "20.00", "en"),
                                            ("mbroke", BROKE_PIN, "0", "en"),
                                            ("mes", SPANISH_PIN, "20.00", "es")):
            p("resident", "add", "--facility", "wall", "--id", rid, "--pin", pin,
              "--balance", balance, "--language", language)
        p("resident", "add", "--facility", "away", "--id", "maway", "--pin", AWAY_PIN,
          "--balance", "20.00")
        # A phone of Away Jail that signs in: known by its credentials, not its address
        # (127.0.0.1 is Wall Phone Jail's).
        p("phone", "add", "--facility", "away", "--username", PHONE_USER, "--password",
          PHONE_PASSWORD)
        p("registry", "add", "--number", ATTORNEY, "--kind", "attorney", "--name",
          "Ann Lawyer", "--credential", "NY-1234567", "--verified")
        p("block", "add", "--facility", "wall", "--number", BLOCKED, "--reason", "request")
        s.switch("up")
        yield s
    finally:
        s.switch("down", check=False)
        for proc in s.procs:
            stop_pid(proc)


def record(s: Stack, call_id: str) -> dict[str, Any]:
    return s.wait_until(f"record of {call_id}", lambda: (
        (r := s.calls_list().get(call_id)) is not None and r.get("ended_at") is not None
        or (r is not None and r.get("state") == "refused")) and r)


def spoken(s: Stack, prefix: str) -> list[str]:
    return [p.name for p in (s.home / "prompts").glob(prefix + "*.wav")]


def pcaps(s: Stack, call_id: str) -> list[str]:
    key = call_id.replace("@", "%40")
    return [p.name for p in (s.spool / "pcaps").glob("*") if key in p.name]


def far_end_messages(s: Stack) -> list[str]:
    """What the called party (sipp behind the trunk) sent and received, one per item."""
    log = next((s.home / "sipp" / "uas").glob("*_messages.log")).read_text()
    return log.split("----------------------------------------------")


def trunk_call_id(s: Stack, dialled: str) -> str:
    """The Call-ID of the menu's trunk leg to ``dialled`` (the menu makes its own)."""
    for message in far_end_messages(s):
        if f"INVITE sip:+1{dialled}@" in message:  # the trunk gets E.164
            found = re.search(r"^Call-ID:\s*(\S+)", message, re.MULTILINE | re.IGNORECASE)
            if found:
                return found.group(1)
    raise AssertionError(f"no INVITE to {dialled} reached the called party")


def _alaw(a: int) -> int:
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << max(0, seg - 1)
    return t if a & 0x80 else -t


ALAW = [_alaw(i) for i in range(256)]


def _goertzel(x: list[int], hz: float) -> float:
    c = 2 * math.cos(2 * math.pi * hz / 8000)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return s1 * s1 + s2 * s2 - c * s1 * s2


def ringing(payload: bytes) -> bool:
    """An A-law packet that is the ring tone: its energy is at 440 and 480 Hz (speech,
    prompts and silence are not; checked against sipp's g711a.pcap: 0 of 236)."""
    x = [ALAW[b] for b in payload]
    energy = sum(v * v for v in x)
    if not x or energy < len(x) * 100:
        return False
    return (_goertzel(x, 440) + _goertzel(x, 480)) / (len(x) / 2 * energy) > 0.5


def pcap_ssrc(path: Path) -> int:
    """The SSRC of a sipp RTP capture's first packet (Ethernet, IPv4, UDP)."""
    return int.from_bytes(path.read_bytes()[24 + 16 + 42 + 8:24 + 16 + 42 + 12], "big")


def seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def test_ordinary_number_with_the_right_pin_is_recorded_and_billed_from_acceptance(
        menu: Stack) -> None:
    calls = menu.menu_call(ORDINARY, PIN + "#", hangs_up_after_ms=16000)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["resident"] == "m1" and rec["mode"] == "recorded", rec
    assert rec["answered_at"] is not None and rec["end_reason"] == "hangup", rec
    assert rec["accepted_at"] is not None, rec
    assert seconds(rec["answered_at"], rec["accepted_at"]) > 1, "the called party chose"
    assert rec["charge_cents"] > 0, rec
    billed = rec["duration_s"]
    assert abs(billed - seconds(rec["accepted_at"], rec["ended_at"])) <= 1, rec
    assert pcaps(menu, calls.call_ids[0]), "a recorded call leaves its pcap"
    assert "recording_warning" in {w["prompt"] for w in rec["warnings"]}, rec


def test_private_key_before_an_attorney_number_connects_unrecorded(menu: Stack) -> None:
    calls = menu.menu_call("7" + ATTORNEY.lstrip("+"), PIN + "#", hangs_up_after_ms=14000)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["mode"] == "private" and rec["reason"] == "privileged_number", rec
    assert rec["accepted_at"] is not None, rec
    assert not pcaps(menu, calls.call_ids[0]), "a private call never leaves a file"


def test_private_key_before_an_unregistered_number_is_recorded_with_its_notice(
        menu: Stack) -> None:
    calls = menu.menu_call("7" + UNREGISTERED, PIN + "#", hangs_up_after_ms=16000)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["mode"] == "recorded" and rec["reason"] == "private_not_registered", rec
    assert "private_not_registered" in {w["prompt"] for w in rec["warnings"]}, rec


def test_three_wrong_pins_end_the_call_with_its_reason(menu: Stack) -> None:
    calls = menu.menu_call(ORDINARY, "9753#9753#9753#", hangs_up_after_ms=None)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["state"] == "refused" and rec["reason"] == "pin_invalid", rec


@pytest.mark.parametrize(("dialled", "pin", "reason"), [
    (ORDINARY, BROKE_PIN, "insufficient_balance"),
    (BLOCKED, PIN, "number_blocked"),
])
def test_a_denied_call_is_told_why_and_keeps_its_reason(menu: Stack, dialled: str, pin: str,
                                                        reason: str) -> None:
    calls = menu.menu_call(dialled, pin + "#", hangs_up_after_ms=None)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["state"] == "refused" and rec["reason"] == reason, rec
    assert rec["answered_at"] is None and not rec.get("charge_cents"), rec
    # The menu makes each prompt's audio when it first says it: the reason was spoken.
    assert spoken(menu, f"menu-en-denied-{reason}-")


@pytest.mark.parametrize("dialled", [REFUSES, SILENT])
def test_a_call_the_called_party_does_not_accept_is_never_connected_recorded_or_billed(
        menu: Stack, dialled: str) -> None:
    calls = menu.menu_call(dialled, PIN + "#", hangs_up_after_ms=None)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["mode"] == "recorded" and rec["end_reason"] == "refused", rec
    assert rec["accepted_at"] is None and rec["answered_at"] is None, rec
    assert rec["charge_cents"] == 0 and rec["ledger_cents"] == 0, rec
    assert not pcaps(menu, calls.call_ids[0]), "nothing is recorded before acceptance"


def test_six_blocks_the_number_and_the_next_call_is_refused_with_its_reason(
        menu: Stack) -> None:
    first = menu.menu_call(BLOCKS, PIN + "#", hangs_up_after_ms=None)
    assert first.proc.returncode == 0, first.errors
    rec = record(menu, first.call_ids[0])
    assert rec["end_reason"] == "refused" and rec["charge_cents"] == 0, rec
    again = menu.menu_call(BLOCKS, PIN + "#", hangs_up_after_ms=None)
    assert again.proc.returncode == 0, again.errors
    rec = record(menu, again.call_ids[0])
    assert rec["state"] == "refused" and rec["reason"] == "number_blocked", rec


def test_a_spanish_speaking_resident_hears_the_menu_and_the_called_party_the_offer_in_spanish(
        menu: Stack) -> None:
    assert not spoken(menu, "menu-es-")
    calls = menu.menu_call(ORDINARY, SPANISH_PIN + "#", hangs_up_after_ms=16000)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["resident"] == "mes" and rec["accepted_at"] is not None, rec
    assert spoken(menu, "menu-es-rate-") and spoken(menu, "menu-es-called_recorded-")
    # Before the PIN, nobody is known yet: the facility's language (English here).
    assert spoken(menu, "menu-en-enter_pin-") and not spoken(menu, "menu-es-enter_pin-")


def test_a_resident_who_hangs_up_in_the_menu_leaves_a_refusal_record(menu: Stack) -> None:
    calls = menu.menu_call(ORDINARY, "2", hangs_up_after_ms=1500)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["state"] == "refused" and rec["reason"] == "abandoned", rec
    assert rec["sip_code"] == 487 and rec["dialled"] == ORDINARY, rec


def test_a_fault_on_an_accepted_menu_call_ends_both_legs_and_closes_it_as_a_fault(
        menu: Stack) -> None:
    """The agent finds the recording file gone after acceptance: the menu, which holds
    both SIP legs, sends each its BYE (Kamailio's dialog RPC knows no menu call)."""
    calls = menu.menu_call(FAULTS, PIN + "#", hangs_up_after_ms=None, wait=False)
    (call_id,) = calls.call_ids
    menu.wait_until("the accepted call's warning", lambda: (
        (c := menu.calls_list().get(call_id)) and c["accepted_at"] and c["warnings"]),
        explain=lambda: calls.errors)
    files = pcap_files(menu.spool, call_id)
    assert len(files) == 1
    for f in files:
        f.unlink()
    assert calls.wait(60) == 0, calls.errors  # the phone got its BYE and answered it
    rec = record(menu, call_id)
    assert (rec["fault"], rec["end_reason"]) == ("recording_file_vanished", "fault"), rec
    trunk = trunk_call_id(menu, FAULTS)
    menu.wait_until("the called party's BYE", lambda: any(
        trunk in m and "BYE sip:" in m for m in far_end_messages(menu)))


@pytest.mark.parametrize(("keys", "mode", "to"), [
    (ORDINARY + "#", "recorded", "+1" + ORDINARY),
    ("7" + ATTORNEY.lstrip("+") + "#", "private", ATTORNEY),
])
def test_dialling_the_menu_number_asks_for_the_pin_then_the_number_to_call(
        menu: Stack, keys: str, mode: str, to: str) -> None:
    """The phone dials the menu's number (PRIVLINE_MENU_NUMBER, 100 by default), keys its
    PIN and then the number (7 first for a private call), each ended by #."""
    calls = menu.menu_call("100", PIN + "#" + keys, hangs_up_after_ms=40000)
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert (rec["resident"], rec["mode"], rec["to"]) == ("m1", mode, to), rec
    assert rec["accepted_at"] is not None, rec
    assert spoken(menu, "menu-en-enter_number-")
    assert bool(pcaps(menu, calls.call_ids[0])) is (mode == "recorded")


def test_the_resident_hears_ringing_and_nothing_of_the_called_party_before_acceptance(
        menu: Stack) -> None:
    """From the trunk's answer to the called party's 1, the phone receives the ring tone
    (sox's 440 + 480 Hz, played by rtpengine) and no packet of the called party (its
    voice and its key press are sipp captures with their own SSRCs); after acceptance
    the called party's voice reaches it (the sniffer hears that party at all)."""
    voice = pcap_ssrc(Path("/usr/share/sip-tester/g711a.pcap"))
    far_ssrcs = {voice, pcap_ssrc(Path("/usr/share/sip-tester/dtmf_2833_1.pcap"))}
    # The phone stays on long enough to hear the called party after the recording
    # warning that follows acceptance (both held while it plays, ~8 s): the called party
    # talks for 14 s from just after its key press.
    calls = menu.menu_call(RINGS, PIN + "#", hangs_up_after_ms=26000, wait=False)
    with Sniffer({calls.media_port}, payloads=True) as phone:
        assert calls.wait() == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert rec["accepted_at"] is not None, rec
    answered = datetime.fromisoformat(rec["answered_at"]).timestamp()
    accepted = datetime.fromisoformat(rec["accepted_at"]).timestamp()
    heard = {key: v for key, v in phone.heard.payloads.items() if key[0] == calls.media_port}
    before = [(ssrc, pt, data) for (_, ssrc), packets in heard.items()
              for at, pt, data in packets if answered <= at < accepted]
    rings = [data for _, pt, data in before if pt == 8 and ringing(data)]
    assert len(rings) >= 10, f"{len(rings)} ring packets of {len(before)} before acceptance"
    assert not {ssrc for ssrc, _, _ in before} & far_ssrcs, "the called party leaked"
    after = [at for (_, ssrc), packets in heard.items() if ssrc == voice
             for at, _, _ in packets if at > accepted]
    heard_after = {f"{ssrc}/{pt}": sum(1 for at, p, _ in packets if at > accepted and p == pt)
                   for (_, ssrc), packets in heard.items() for pt in {p for _, p, _ in packets}}
    assert after, ("the called party's voice reaches the resident after acceptance; heard "
                   f"after it (ssrc/payload type: packets): {heard_after}")


def test_a_phone_with_credentials_is_its_facilitys_wherever_its_address_is(
        menu: Stack) -> None:
    """Challenged (407), it signs in; its calls are Away Jail's although its address is
    Wall Phone Jail's, so the PIN finds Away Jail's resident."""
    calls = menu.menu_call(ORDINARY, AWAY_PIN + "#", hangs_up_after_ms=16000,
                           credentials=(PHONE_USER, PHONE_PASSWORD))
    assert calls.proc.returncode == 0, calls.errors
    rec = record(menu, calls.call_ids[0])
    assert (rec["facility"], rec["resident"], rec["mode"]) == ("away", "maway", "recorded")
    assert rec["accepted_at"] is not None, rec


def test_a_phone_with_a_wrong_password_is_refused_and_no_call_is_placed(
        menu: Stack) -> None:
    calls = menu.menu_call(WRONG_PASSWORD_TO, PIN + "#", hangs_up_after_ms=16000,
                           credentials=(PHONE_USER, "not-the-password"))
    assert calls.proc.returncode == 0, calls.errors  # 407, then 403 to the signed INVITE
    rec = record(menu, calls.call_ids[0])
    assert (rec["state"], rec["reason"], rec["sip_code"]) == (
        "refused", "phone_auth_failed", 403), rec
    assert not any(f"+1{WRONG_PASSWORD_TO}@" in m for m in far_end_messages(menu))
