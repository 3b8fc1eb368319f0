"""rtpengine's spool: finished recordings, their metadata, and nothing read from outside it.

The two metadata texts below were written by rtpengine 10.5.3.5 (Debian 12) on this kind
of machine, recording-method pcap, for calls driven over its ng protocol on loopback;
only the spool path in their first line was changed.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import numpy as np
import pytest

from privline.adapters.vault.audio import CALLEE, CALLER
from privline.adapters.vault.decode import decode_recording
from privline.adapters.vault.exceptions import (
    MetadataFormatError,
    RecordingTooLarge,
    SpoolError,
)
from privline.adapters.vault.g711 import Law
from privline.adapters.vault.metadata import parse_metadata
from privline.adapters.vault.spool import RecordingSpool, SpooledRecording
from tests.unit.vault.synth import two_party_call

# A plain call: no labels, and both sides happened to send the same o= line.
PLAIN_KEY = "probe%20call%2F1%40host%3Bx%3Dy%25z-9c031f05d9cbcf99"
PLAIN = (
    f"/spool/pcaps/{PLAIN_KEY}.pcap\n\n\n"
    "Timestamp started ms: 1795827207626.460\nSDP mode: offer\nSDP before RTP packet: 1\n\n"
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 41000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\na=rtcp:41001\r\n\n"
    "Timestamp started ms: 1795827207626.463\nSDP mode: answer\nSDP before RTP packet: 1\n\n"
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 41014 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\na=rtcp:41015\r\n\n"
    "Timestamp terminated ms(first monologue): 1795827207887.846\n\n"
    "call start time: 2026-11-28T00:53:27\ncall end time: 2026-11-28T00:53:27\n"
)
# Labels, DTMF in the SDP, a re-INVITE from the callee that moved ports, and the ng
# "metadata" flag carrying privline's call id.
RICH_KEY = "abc123%4010.20.0.5-264699fe4aa95688"


def _sdp(user: str, version: int, port: int) -> str:
    return (
        f"v=0\r\no={user} {111 if user == 'phone' else 222} {version} IN IP4 127.0.0.1\r\n"
        f"s=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 8 101\r\n"
        "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
        f"a=rtcp:{port + 1}\r\n"
    )


RICH = (
    f"/spool/pcaps/{RICH_KEY}.pcap\n\n\n"
    "Label: resident\nTimestamp started ms: 1795827923912.589\nSDP mode: offer\n"
    f"SDP before RTP packet: 1\n\n{_sdp('phone', 1, 41000)}\n"
    "Label: called\nTimestamp started ms: 1795827923912.592\nSDP mode: answer\n"
    f"SDP before RTP packet: 1\n\n{_sdp('trunk', 1, 41010)}\n"
    "Label: called\nTimestamp started ms: 1795827923916.975\nSDP mode: offer\n"
    f"SDP before RTP packet: 21\n\n{_sdp('trunk', 2, 41030)}\n"
    "Label: resident\nTimestamp started ms: 1795827923916.528\nSDP mode: answer\n"
    f"SDP before RTP packet: 21\n\n{_sdp('phone', 2, 41000)}\n"
    "Timestamp terminated ms(first monologue): 1795827924133.994\n\n"
    "call start time: 2026-11-28T01:05:23\ncall end time: 2026-11-28T01:05:24\n\n\n"
    "privline-call=6f1c2a\n"
)


def test_a_plain_metadata_file_parses_into_its_parts():
    meta = parse_metadata(PLAIN)
    assert meta.pcap_path == f"/spool/pcaps/{PLAIN_KEY}.pcap"
    assert [(b.mode, b.audio_ports, b.before_packet) for b in meta.sdp] == [
        ("offer", [41000], 1),
        ("answer", [41014], 1),
    ]
    assert meta.sdp[0].lines[0] == "v=0" and meta.sdp[0].rtpmaps == {8: "PCMA"}
    assert meta.started_at == datetime(2026, 11, 28, 0, 53, 27, 626460, tzinfo=UTC)
    assert meta.ended_at == datetime(2026, 11, 28, 0, 53, 27, 887846, tzinfo=UTC)
    assert meta.call_start_local == "2026-11-28T00:53:27"
    assert (meta.extra, meta.unknown, meta.pauses) == ("", [], [])


def test_without_labels_or_distinct_origins_the_offer_is_the_callers():
    # The offer went to the callee carrying port 41000: the callee's media arrives there.
    assert parse_metadata(PLAIN).port_roles() == {41000: CALLEE, 41014: CALLER}


def test_a_re_invite_from_the_callee_is_attributed_by_its_origin_line():
    meta = parse_metadata(RICH)
    assert [b.label for b in meta.sdp] == ["resident", "called", "called", "resident"]
    # The third SDP is an offer, but from the callee (o=trunk): its new port faces the caller.
    assert meta.port_roles() == {41000: CALLEE, 41010: CALLER, 41030: CALLER}


def test_labels_named_caller_and_callee_decide_over_everything_else():
    text = RICH.replace("Label: resident", "Label: callee").replace(
        "Label: called", "Label: caller"
    )
    assert parse_metadata(text).port_roles() == {41000: CALLER, 41010: CALLEE, 41030: CALLEE}


def test_metadata_that_holds_only_the_answer_names_only_the_callers_port():
    answer_only = (
        PLAIN[: PLAIN.index("Timestamp started ms")]
        + PLAIN[PLAIN.index("Timestamp started ms: 1795827207626.463") :]
    )
    assert parse_metadata(answer_only).port_roles() == {41014: CALLER}


def test_dtmf_and_the_call_paths_tags_come_through():
    meta = parse_metadata(RICH)
    assert meta.ignorable_payload_types() == {101}
    assert meta.extra == "privline-call=6f1c2a"
    assert meta.tags == {"privline-call": "6f1c2a"}


def test_pauses_are_kept_and_unknown_lines_do_not_break_parsing():
    text = PLAIN.replace(
        "Timestamp terminated",
        "Recording paused at: 2026-11-28T00:53:27 (1795827207700.000 ms)\n"
        "Something new: 1\nTimestamp terminated",
    )
    meta = parse_metadata(text)
    assert len(meta.pauses) == 1
    assert meta.unknown == ["Something new: 1"]
    assert meta.port_roles() == {41000: CALLEE, 41014: CALLER}


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "/x.pcap\n\nTimestamp started ms: soon\n"],
    ids=["empty", "blank", "bad-number"],
)
def test_unparseable_metadata_is_a_permanent_error(text):
    with pytest.raises(MetadataFormatError) as caught:
        parse_metadata(text)
    assert caught.value.retryable is False


# --- the spool folders --------------------------------------------------------------


@pytest.fixture
def spool(tmp_path) -> RecordingSpool:
    root = tmp_path / "spool"
    for name in ("pcaps", "metadata", "tmp"):
        (root / name).mkdir(parents=True)
    root.chmod(0o700)
    return RecordingSpool(root)


def finish(spool: RecordingSpool, key: str, text: str, pcap: bytes = b"") -> SpooledRecording:
    (spool.pcaps / f"{key}.pcap").write_bytes(pcap)
    (spool.metadata / f"rtpengine-meta-{key}.txt").write_text(text)
    (recording,) = [r for r in spool.finished() if r.key == key]
    return recording


def test_a_finished_recording_is_found_with_its_unescaped_call_id(spool):
    recording = finish(spool, PLAIN_KEY, PLAIN)
    assert recording.call_id == "probe call/1@host;x=y%z"
    assert recording.pcap_path == spool.pcaps / f"{PLAIN_KEY}.pcap"
    assert spool.read_metadata(recording).port_roles() == {41000: CALLEE, 41014: CALLER}


def test_a_call_still_in_progress_is_not_finished(spool):
    (spool.pcaps / f"{RICH_KEY}.pcap").write_bytes(b"")
    (spool.tmp / f"rtpengine-meta-{RICH_KEY}.tmp").write_text("")
    assert spool.finished() == []
    assert [r.call_id for r in spool.in_progress()] == ["abc123@10.20.0.5"]
    assert spool.orphan_pcaps() == []


def test_a_pcap_with_no_metadata_anywhere_is_reported_as_an_orphan(spool):
    (spool.pcaps / "lost%40x-0123456789abcdef.pcap").write_bytes(b"")
    assert [p.name for p in spool.orphan_pcaps()] == ["lost%40x-0123456789abcdef.pcap"]


@pytest.mark.parametrize(
    "name",
    [
        "notes.txt",
        "rtpengine-meta-abc-0123456789ABCDEF.txt",  # rtpengine's tag is lowercase hex
        "rtpengine-meta-a%2fb-0123456789abcdef.txt",  # lowercase escape: not glib's
        "rtpengine-meta-a%ZZ-0123456789abcdef.txt",
        "rtpengine-meta-%FF-0123456789abcdef.txt",  # not UTF-8
        "rtpengine-meta-a b-0123456789abcdef.txt",  # unescaped space
    ],
)
def test_files_rtpengine_did_not_name_are_never_ingested(spool, name):
    (spool.metadata / name).write_text(PLAIN)
    assert spool.finished() == []
    assert [p.name for p in spool.unrecognised()] == [name]


def test_metadata_naming_another_pcap_is_refused(spool):
    recording = finish(spool, RICH_KEY, PLAIN)  # PLAIN names PLAIN_KEY's pcap
    with pytest.raises(MetadataFormatError, match="names pcap"):
        spool.read_metadata(recording)


def test_the_pcap_path_inside_a_metadata_file_is_never_followed(spool, tmp_path):
    # Same file name as the real pcap, but in another folder: still not what we read.
    outside = tmp_path / f"{PLAIN_KEY}.pcap"
    outside.write_bytes(b"secret")
    text = PLAIN.replace(f"/spool/pcaps/{PLAIN_KEY}.pcap", str(outside))
    recording = finish(spool, PLAIN_KEY, text, pcap=b"the real pcap")
    assert spool.read_metadata(recording).pcap_path == str(outside)
    assert spool.read_pcap(recording) == b"the real pcap"
    spool.remove(recording)
    assert outside.read_bytes() == b"secret"


def test_a_symlinked_pcap_is_not_read(spool, tmp_path):
    recording = finish(spool, PLAIN_KEY, PLAIN)
    outside = tmp_path / "secret"
    outside.write_bytes(b"secret")
    recording.pcap_path.unlink()
    recording.pcap_path.symlink_to(outside)
    with pytest.raises(SpoolError) as caught:
        spool.read_pcap(recording)
    assert caught.value.retryable is False


def test_symlinks_in_metadata_are_not_listed(spool, tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text(PLAIN)
    (spool.metadata / f"rtpengine-meta-{PLAIN_KEY}.txt").symlink_to(target)
    assert spool.finished() == []


def test_a_pcap_over_the_size_limit_is_refused_before_reading(spool):
    recording = finish(spool, PLAIN_KEY, PLAIN, pcap=b"x" * 100)
    with pytest.raises(RecordingTooLarge):
        spool.read_pcap(recording, limit=99)


def test_remove_deletes_pcap_and_metadata_and_can_be_repeated(spool):
    recording = finish(spool, PLAIN_KEY, PLAIN, pcap=b"audio")
    spool.remove(recording)
    assert list(spool.pcaps.iterdir()) == [] and list(spool.metadata.iterdir()) == []
    spool.remove(recording)  # a retry after a crash half-way is harmless


def test_a_crash_between_the_two_deletes_leaves_the_metadata_to_find_again(spool, monkeypatch):
    recording = finish(spool, PLAIN_KEY, PLAIN, pcap=b"audio")
    real_unlink = os.unlink

    def crash_on_metadata(path, *args, **kwargs):
        if str(path).endswith(".txt"):
            raise OSError(5, "simulated crash")
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", crash_on_metadata)
    with pytest.raises(SpoolError):
        spool.remove(recording)
    monkeypatch.undo()
    assert not recording.pcap_path.exists()  # no plaintext left behind...
    assert [r.key for r in spool.finished()] == [PLAIN_KEY]  # ...and the key comes round again


def test_finished_recordings_come_oldest_first(spool):
    newer = finish(spool, RICH_KEY, RICH)
    older = finish(spool, PLAIN_KEY, PLAIN)
    os.utime(older.metadata_path, (1000, 1000))
    os.utime(newer.metadata_path, (2000, 2000))
    assert [r.key for r in spool.finished()] == [PLAIN_KEY, RICH_KEY]


def test_a_missing_spool_is_a_retryable_error(tmp_path):
    with pytest.raises(SpoolError) as caught:
        RecordingSpool(tmp_path / "not-yet").check()
    assert caught.value.retryable is True


def test_a_spool_others_can_enter_is_reported(spool):
    assert spool.insecure_paths() == []
    spool.root.chmod(0o755)
    assert spool.insecure_paths() == [f"{spool.root} is mode 0755; make it 0700"]


def test_a_synthetic_recording_decodes_through_the_spool_with_the_right_parties(spool):
    data, caller, callee = two_party_call(1.0)
    recording = finish(spool, PLAIN_KEY, PLAIN, pcap=data)  # synth uses PLAIN's ports
    call = decode_recording(spool.read_pcap(recording), spool.read_metadata(recording))
    assert call.labels == (CALLER, CALLEE)
    left, right = (t.samples(call.frames) for t in call.tracks)
    assert (left == Law.ALAW.table[np.frombuffer(caller, np.uint8)]).all()
    assert (right == Law.ALAW.table[np.frombuffer(callee, np.uint8)]).all()
