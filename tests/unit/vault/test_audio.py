"""From RTP streams to one channel per party on a shared timeline, and to WAV."""

from __future__ import annotations

import io
import random
import wave

import numpy as np
import pytest

from privline.adapters.vault.audio import (
    CALLEE,
    CALLER,
    UNATTRIBUTED,
    assemble,
    assign_parties,
)
from privline.adapters.vault.decode import decode_recording
from privline.adapters.vault.exceptions import RecordingTooLarge, UnsupportedCodecError
from privline.adapters.vault.g711 import Law
from privline.adapters.vault.pcap import parse_pcap
from tests.unit.vault.synth import (
    CALLEE_PORT,
    CALLER_PORT,
    Leg,
    Rtp,
    call,
    pcap,
    rtp_over_ip,
    two_party_call,
)

ROLES = {CALLER_PORT: CALLER, CALLEE_PORT: CALLEE}
PHONE = ("10.20.0.5", 20000)
TRUNK = ("192.0.2.9", 30000)
T0 = 1_795_000_000_000_000


def alaw(codes: bytes) -> np.ndarray:
    return Law.ALAW.table[np.frombuffer(codes, dtype=np.uint8)]


def from_phone(packets, spacing_us: int = 20_000) -> bytes:
    """A pcap of the caller's packets, in the order given, one every `spacing_us`."""
    to_rtpengine = ("10.0.0.1", CALLER_PORT)
    return pcap(
        [(T0 + i * spacing_us, rtp_over_ip(p, PHONE, to_rtpengine)) for i, p in enumerate(packets)]
    )


def decoded(data: bytes, roles=ROLES, **kw):
    capture = parse_pcap(data)
    return assemble(capture, assign_parties(capture.streams, roles), **kw)


def channels(result) -> dict[str, np.ndarray]:
    return {t.label: t.samples(result.frames) for t in result.tracks}


def test_each_party_gets_its_own_channel_sample_for_sample():
    data, caller, callee = two_party_call(3.0)
    result = decoded(data)
    assert result.labels == (CALLER, CALLEE)
    assert result.frames == 24_000
    out = channels(result)
    assert (out[CALLER] == alaw(caller)).all()
    assert (out[CALLEE] == alaw(callee)).all()


def test_mu_law_is_decoded_with_the_mu_law_table():
    data, caller, _ = two_party_call(1.0, pt=0)
    out = channels(decoded(data))
    assert (out[CALLER] == Law.MULAW.table[np.frombuffer(caller, np.uint8)]).all()


def test_a_lost_packet_is_silence_of_its_length_and_nothing_after_it_moves():
    codes = random.Random(5).randbytes(160 * 10)
    packets = [Rtp(codes[i * 160 : (i + 1) * 160], i, i * 160, 1) for i in range(10) if i != 4]
    data = pcap(
        [(T0 + p.seq * 20_000, rtp_over_ip(p, PHONE, ("10.0.0.1", CALLER_PORT))) for p in packets]
    )
    out = channels(decoded(data))[CALLER]
    expected = alaw(codes)
    expected[640:800] = 0
    assert (out == expected).all()


def test_network_jitter_does_not_shift_the_audio():
    codes = random.Random(6).randbytes(160 * 50)
    leg = Leg(PHONE, ("10.0.0.1", CALLER_PORT), 1, codes)
    smooth = channels(decoded(call([leg])))[CALLER]
    jittery = channels(decoded(call([leg], jitter_us=15_000)))[CALLER]
    assert (smooth == jittery).all()


def test_parties_are_aligned_by_arrival_time():
    codes = random.Random(7).randbytes(160 * 100)
    caller = Leg(PHONE, ("10.0.0.1", CALLER_PORT), 1, codes)
    # The callee's stream starts a second later, with an unrelated RTP clock.
    callee_codes = b"\x2a" * (160 * 50)
    callee = Leg(TRUNK, ("10.0.0.1", CALLEE_PORT), 2, callee_codes, first_ts=123_456, first_seq=9)
    late = call([callee], start_us=T0 + 1_000_000)
    early = call([caller], start_us=T0)
    merged = pcap(_records(early) + _records(late))
    result = decoded(merged)
    out = channels(result)
    assert result.frames == 16_000
    assert (out[CALLEE][:8000] == 0).all()
    assert (out[CALLEE][8000:] == alaw(callee_codes)).all()
    assert result.start_us == T0


def test_a_clock_jump_inside_a_stream_is_placed_by_arrival_not_by_the_bogus_timestamp():
    packets = [Rtp(b"\xd5" * 160, i, i * 160, 1) for i in range(5)]
    # Same SSRC, timestamps leap two billion samples ahead (about three days).
    packets += [Rtp(b"\xaa" * 160, 5 + i, 2_000_000_000 + i * 160, 1) for i in range(5)]
    data = from_phone(packets)
    result = decoded(data)
    assert result.frames == 1600  # ten packets' worth, not days of silence
    out = channels(result)[CALLER]
    assert (out[:800] == 8).all() and (out[800:] == 32256).all()


def test_a_recording_longer_than_allowed_is_refused():
    data, _, _ = two_party_call(3.0)
    with pytest.raises(RecordingTooLarge) as caught:
        decoded(data, max_seconds=2)
    assert caught.value.retryable is False


def test_audio_in_another_codec_is_refused_rather_than_stored_as_silence():
    g722 = [Rtp(b"\x00" * 160, i, i * 160, 1, pt=9) for i in range(3)]
    data = from_phone(g722)
    with pytest.raises(UnsupportedCodecError, match="9"):
        decoded(data)


def test_dtmf_and_comfort_noise_are_left_out_when_declared_quiet():
    packets = [
        Rtp(b"\xd5" * 160, 0, 0, 1),
        Rtp(b"\x01\x00\x00\xa0", 1, 160, 1, pt=101),
        Rtp(b"\x40", 2, 320, 1, pt=13),
    ]
    data = from_phone(packets)
    with pytest.raises(UnsupportedCodecError):
        decoded(data)  # 101 is dynamic: only the SDP can say it is telephone-event
    result = decoded(data, ignored_payload_types=frozenset({13, 101}))
    assert result.packets_used == 1


def test_a_party_that_switches_codec_mid_call_is_decoded_packet_by_packet():
    packets = [
        Rtp(b"\xd5" * 160, 0, 0, 1, pt=8),
        Rtp(b"\xff" * 160, 1, 160, 1, pt=0),
        Rtp(b"\x80" * 160, 2, 320, 1, pt=0),
    ]
    data = from_phone(packets)
    out = channels(decoded(data))[CALLER]
    assert out[:160].tolist() == [8] * 160  # A-law 0xD5
    assert out[160:320].tolist() == [0] * 160  # mu-law 0xFF
    assert out[320:].tolist() == [32124] * 160  # mu-law 0x80


def test_the_wav_is_what_the_standard_library_reads_back():
    data, caller, callee = two_party_call(2.0)
    result = decoded(data)
    wav = result.wav()
    with wave.open(io.BytesIO(bytes(wav))) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (2, 2, 8000)
        assert reader.getnframes() == 16_000
        frames = np.frombuffer(reader.readframes(16_000), dtype="<i2").reshape(-1, 2)
    assert (frames[:, 0] == alaw(caller)).all()
    assert (frames[:, 1] == alaw(callee)).all()
    assert result.wav_bytes == len(wav)


def test_a_reused_buffer_gives_the_same_wav_even_after_a_longer_call():
    long_data, _, _ = two_party_call(3.0, seed=1)
    short_data, _, _ = two_party_call(1.0, seed=2)
    buffer = bytearray()
    decoded(long_data).wav_into(buffer)
    short = decoded(short_data)
    assert bytes(short.wav_into(buffer)) == bytes(short.wav())


def test_a_capture_without_audio_gives_empty_channels():
    result = decoded(pcap([]))
    assert result.frames == 0
    assert result.labels == (CALLER, CALLEE)
    with wave.open(io.BytesIO(bytes(result.wav()))) as reader:
        assert reader.getnframes() == 0


def test_with_the_metadata_roles_the_channels_are_caller_then_callee():
    data, caller, callee = two_party_call(1.0)
    capture = parse_pcap(data)
    parties = assign_parties(reversed(capture.streams), ROLES)
    assert list(parties) == [CALLER, CALLEE]
    assert [s.destination.port for s in parties[CALLER]] == [CALLER_PORT]


def test_metadata_that_saw_only_the_answer_still_separates_the_parties():
    data, _, _ = two_party_call(1.0)
    capture = parse_pcap(data)
    parties = assign_parties(capture.streams, {CALLER_PORT: CALLER})
    assert [s.destination.port for s in parties[CALLEE]] == [CALLEE_PORT]
    assert UNATTRIBUTED not in parties


def test_a_stream_that_fits_no_party_is_kept_apart_not_mixed_in():
    data, _, _ = two_party_call(1.0)
    stray = call([Leg(("198.51.100.7", 5000), ("127.0.0.1", 45000), 3, b"\xd5" * 1600)])
    merged = pcap(_records(data) + _records(stray))
    capture = parse_pcap(merged)
    parties = assign_parties(capture.streams, ROLES)
    assert [s.source.address for s in parties[UNATTRIBUTED]] == ["198.51.100.7"]
    assert decoded(merged).labels == (CALLER, CALLEE, UNATTRIBUTED)


def test_a_new_ssrc_from_a_known_endpoint_stays_with_its_party():
    first = Leg(PHONE, ("10.0.0.1", CALLER_PORT), 1, b"\xd5" * 1600)
    # After a re-INVITE rtpengine gave the phone a new port, and the phone a new SSRC.
    second = Leg(PHONE, ("10.0.0.1", 42000), 2, b"\xd5" * 1600)
    callee = Leg(TRUNK, ("10.0.0.1", CALLEE_PORT), 3, b"\x55" * 1600)
    capture = parse_pcap(call([first, second, callee]))
    parties = assign_parties(capture.streams, ROLES)
    assert sorted(s.ssrc for s in parties[CALLER]) == [1, 2]


def test_without_metadata_each_rtpengine_port_is_a_party_in_order_of_arrival():
    data, _, _ = two_party_call(1.0)
    capture = parse_pcap(data)
    assert list(assign_parties(capture.streams, None)) == ["party-1", "party-2"]


def test_decode_recording_uses_the_metadatas_quiet_payload_types(tmp_path):
    from privline.adapters.vault.metadata import parse_metadata

    packets = [Rtp(b"\xd5" * 160, 0, 0, 1), Rtp(b"\x01\x00\x00\xa0", 1, 160, 1, pt=96)]
    data = from_phone(packets)
    sdp = "\n".join(
        [
            "/x/pcaps/k.pcap",
            "",
            "Timestamp started ms: 1.0",
            "SDP mode: offer",
            "SDP before RTP packet: 1",
            "",
            "v=0",
            f"m=audio {CALLEE_PORT} RTP/AVP 8 96",
            "a=rtpmap:96 telephone-event/8000",
        ]
    )
    result = decode_recording(data, parse_metadata(sdp))
    assert result.packets_used == 1


def _records(data: bytes) -> list[tuple[int, bytes]]:
    """Split a synthetic pcap back into (arrival, frame) records to merge captures."""
    import struct

    out, offset = [], 24
    while offset < len(data):
        seconds, micros, length, _ = struct.unpack_from("<IIII", data, offset)
        out.append((seconds * 1_000_000 + micros, data[offset + 16 : offset + 16 + length]))
        offset += 16 + length
    return out
