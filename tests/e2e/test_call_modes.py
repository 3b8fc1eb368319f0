"""Real calls through Kamailio + rtpengine: private calls leave nothing on disk, recorded
calls leave one pcap with both directions, and every call hears its announcement."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from privline.adapters.switch.recordings import any_files, pcap_files
from privline.adapters.vault.pcap import read_pcap
from tests.e2e.conftest import ATTORNEY, ORDINARY, PINS, UNREGISTERED, balance_cents
from tests.e2e.sniff import Sniffer
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e
SIPP_SSRC = 3739283087  # the SSRC inside sipp's g711a.pcap, sent by both test parties


def test_attorney_number_in_three_formats_is_private_and_leaves_no_recording(
    stack: Stack,
) -> None:
    """Promise 1 on the wire: whatever the format dialled, no pcap, no metadata,
    mode private, the private notice played to both parties."""
    formats = ["2125550101", "12125550101", ATTORNEY]
    calls = stack.sipp_calls([("f1", "r1", "1234", "0", f) for f in formats], pause_ms=5000)
    assert calls.proc.returncode == 0, calls.errors
    records = stack.wait_records(calls.call_ids)
    for call_id in calls.call_ids:
        record = records[call_id]
        assert record is not None, call_id
        assert (record["mode"], record["to"], record["recording"]) == ("private", ATTORNEY, False)
        assert any_files(stack.spool, call_id) == [], "a privileged call left a file"
        assert [w["prompt"] for w in record["warnings"]] == ["private_notice"]
        notice = record["warnings"][0]["evidence"]
        assert notice["blocked"] is True and len(notice["to"]) == 2 and notice["error"] is None
        assert all(r["result"] == "ok" and r["duration"] > 1000 for r in notice["rtpengine"])
        assert (record["charge_cents"], record["ledger_cents"]) == (0, 0)
        assert record["duration_s"] >= 5 and record["end_reason"] == "hangup"


def test_ordinary_number_is_recorded_both_ways_warned_before_talk_and_charged(
    stack: Stack,
) -> None:
    """A recorded call: one pcap with both directions for the call's length; the
    warning reaches both phones while their own audio is blocked; the account is
    charged one started minute at the rate announced."""
    before = balance_cents(stack, "r2")
    with Sniffer({stack.uas_media_port}) as far_end:
        calls = stack.sipp_calls([("f1", "r2", PINS["r2"], "0", ORDINARY)], pause_ms=10000,
                                 wait=False)
        with Sniffer({calls.media_port}) as phone:
            calls.wait()
    assert calls.proc.returncode == 0, calls.errors
    (call_id,) = calls.call_ids
    record = stack.wait_records([call_id])[call_id]
    assert record is not None
    assert record["mode"] == "recorded" and record["to"] == "+1" + ORDINARY
    assert 10 <= record["duration_s"] <= 12 and record["end_reason"] == "hangup"

    files = pcap_files(stack.spool, call_id)
    assert len(files) == 1 and record["recording"] is True
    streams = [s for s in read_pcap(files[0]).streams if s.packets > 50]
    assert len(streams) == 2, streams  # phone -> switch and far end -> switch
    assert {s.source.port for s in streams} == {calls.media_port, stack.uas_media_port}

    assert [w["prompt"] for w in record["warnings"]] == ["rate", "recording_warning"]
    warning = record["warnings"][0]["evidence"]
    assert warning["blocked"] and warning == record["warnings"][1]["evidence"]
    duration_s = max(r["duration"] for r in warning["rtpengine"]) / 1000
    played_at = datetime.fromisoformat(record["warnings"][0]["at"]).timestamp()
    for heard in (phone.heard.at_port(calls.media_port),
                  far_end.heard.at_port(stack.uas_media_port)):
        prompt = [times for ssrc, times in heard.items() if ssrc != SIPP_SSRC]
        assert prompt and len(prompt[0]) >= duration_s * 40, heard.keys()  # ~50 pkt/s
        # The other party's voice is held back while the warning plays, and flows after.
        voice = heard[SIPP_SSRC]
        during = [t for t in voice if played_at + 0.3 < t < played_at + duration_s - 0.3]
        after = [t for t in voice if t > played_at + duration_s + 0.5]
        assert during == [] and len(after) > 20
    for s in streams:
        # Both parties are recorded from before the warning to after it, measured
        # against the call's own events rather than a wall-clock length (sipp's pacing
        # drifts on a busy machine).
        first, last = s.arrival_us[0] / 1e6, s.arrival_us[-1] / 1e6
        assert first < played_at + 1 and last > played_at + duration_s + 0.5

    # One started minute at the rate announced, in the record and in the ledger.
    assert record["rate_per_minute"] == "0.12" and record["charge"] == "0.12"
    assert (record["charge_cents"], record["ledger_cents"]) == (12, 12)
    assert balance_cents(stack, "r2") == before - 12
    assert all(r["result"] == "ok" for r in warning["rtpengine"])


def test_private_request_to_unregistered_number_is_recorded_with_notice_and_request(
    stack: Stack,
) -> None:
    # Long enough for its warning on a loaded machine: the prompt is made when the call
    # is decided (espeak-ng, seconds at load 15), and a call that ends first has had
    # its audio held throughout and plays nothing.
    calls = stack.sipp_calls([("f1", "r1", "1234", "1", UNREGISTERED)], pause_ms=8000)
    assert calls.proc.returncode == 0, calls.errors
    (call_id,) = calls.call_ids
    record = stack.wait_records([call_id])[call_id]
    assert record is not None
    assert record["mode"] == "recorded" and record["reason"] == "private_not_registered"
    assert len(pcap_files(stack.spool, call_id)) == 1
    assert [w["prompt"] for w in record["warnings"]][:1] == ["private_not_registered"], record
    listing = json.loads(stack.privline("registry", "list", "--status", "pending",
                                        "--json").stdout)
    entries = listing.get("entries", listing.get("items", []))
    assert any(e["number"] == "+1" + UNREGISTERED for e in entries), listing


def test_far_end_never_sees_the_pin_or_the_resident(stack: Stack) -> None:
    log = next((stack.home / "sipp" / "uas").glob("*_messages.log")).read_text()
    assert "INVITE sip:" in log
    assert "X-Privline-PIN" not in log and "X-Privline-Resident" not in log
