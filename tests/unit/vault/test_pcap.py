"""Reading RTP out of pcaps: every byte of the inputs is synthesised in tests/unit/vault/synth."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privline.adapters.vault.exceptions import PcapFormatError
from privline.adapters.vault.pcap import Endpoint, parse_pcap, read_pcap
from tests.unit.vault.synth import (
    LINKTYPE_ETHERNET,
    Rtp,
    ethernet,
    ipv4,
    ipv6,
    pcap,
    rtp_over_ip,
    udp,
)

PHONE = ("10.20.0.5", 20000)  # a facility phone
TRUNK = ("192.0.2.9", 30000)  # the far end
RTPENGINE_A = ("10.0.0.1", 41014)
RTPENGINE_B = ("10.0.0.1", 41000)
T0 = 1_795_000_000_000_000
SIPP_PCAP = Path("/usr/share/sip-tester/g711a.pcap")


def packet(seq: int, *, ssrc: int = 0xA, ts: int | None = None, payload: bytes | None = None, **kw):
    body = payload if payload is not None else bytes([seq & 0xFF]) * 160
    return Rtp(payload=body, seq=seq, ts=seq * 160 if ts is None else ts, ssrc=ssrc, **kw)


def records(packets, src=PHONE, dst=RTPENGINE_A, **kw):
    return [(T0 + i * 20_000, rtp_over_ip(p, src, dst, **kw)) for i, p in enumerate(packets)]


def test_a_raw_ip_recording_gives_one_stream_per_direction_with_payload_locations():
    caller = [packet(s, ssrc=0x1111, payload=b"\xd5" * 160) for s in range(100, 110)]
    callee = [packet(s, ssrc=0x2222, payload=b"\x55" * 160) for s in range(500, 510)]
    data = pcap(records(caller, PHONE, RTPENGINE_A) + records(callee, TRUNK, RTPENGINE_B))

    capture = parse_pcap(data)

    assert capture.link_type == 101
    assert (capture.records, capture.skipped, capture.truncated) == (20, 0, False)
    by_ssrc = {s.ssrc: s for s in capture.streams}
    first = by_ssrc[0x1111]
    assert first.source == Endpoint("10.20.0.5", 20000)
    assert first.destination == Endpoint("10.0.0.1", 41014)
    assert first.sequence.tolist() == list(range(100, 110))
    assert first.payload_types == {8}
    assert all(bytes(capture.payload(first, i)) == b"\xd5" * 160 for i in range(10))
    assert bytes(capture.payload(by_ssrc[0x2222], 3)) == b"\x55" * 160


def test_packets_are_put_in_sequence_order_and_duplicates_dropped():
    order = [5, 1, 2, 4, 3, 3, 6, 0]
    capture = parse_pcap(pcap(records([packet(s) for s in order])))
    (stream,) = capture.streams
    assert stream.sequence.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert capture.duplicates == 1
    assert [bytes(capture.payload(stream, i))[0] for i in range(7)] == list(range(7))


def test_sequence_and_timestamp_wrap_around_are_extended_not_reset():
    seqs = [65533, 65534, 65535, 0, 1, 2]
    ts = [2**32 - 320, 2**32 - 160, 0, 160, 320, 480]
    capture = parse_pcap(pcap(records([packet(s, ts=t) for s, t in zip(seqs, ts, strict=True)])))
    (stream,) = capture.streams
    assert stream.sequence.tolist() == [65533, 65534, 65535, 65536, 65537, 65538]
    assert stream.timestamp.tolist() == [2**32 - 320 + 160 * i for i in range(6)]
    assert stream.lost == 0


def test_a_reordered_packet_across_the_wrap_sorts_before_the_ones_after_it():
    capture = parse_pcap(pcap(records([packet(s) for s in [65534, 0, 65535, 1]])))
    assert capture.streams[0].sequence.tolist() == [65534, 65535, 65536, 65537]


def test_interleaved_streams_each_unwrap_on_their_own():
    low = [packet(s, ssrc=1, ts=t) for s, t in [(65534, 2**32 - 160), (65535, 0), (0, 160)]]
    high = [packet(s, ssrc=2, ts=t) for s, t in [(10, 5000), (11, 5160), (12, 5320)]]
    mixed = [p for pair in zip(high, low, strict=True) for p in pair]
    capture = parse_pcap(pcap(records(mixed)))
    by_ssrc = {s.ssrc: s for s in capture.streams}
    assert by_ssrc[1].sequence.tolist() == [65534, 65535, 65536]
    assert by_ssrc[1].timestamp.tolist() == [2**32 - 160, 2**32, 2**32 + 160]
    assert by_ssrc[2].sequence.tolist() == [10, 11, 12]
    assert by_ssrc[2].timestamp.tolist() == [5000, 5160, 5320]


def test_ipv4_options_are_skipped_to_find_the_udp_header():
    datagram = udp(PHONE[1], RTPENGINE_A[1], packet(1).encode())
    plain = ipv4(PHONE[0], RTPENGINE_A[0], datagram)
    # IHL 6: one 4-byte option (NOP x4) between the header and UDP; total length grows by 4.
    with_options = bytearray(plain[:20] + b"\x01\x01\x01\x01" + plain[20:])
    with_options[0] = 0x46
    struct.pack_into("!H", with_options, 2, len(with_options))
    capture = parse_pcap(pcap([(T0, bytes(with_options))]))
    (stream,) = capture.streams
    assert stream.source == Endpoint(*PHONE)
    assert bytes(capture.payload(stream, 0)) == bytes([1]) * 160


def test_lost_packets_are_counted():
    capture = parse_pcap(pcap(records([packet(s) for s in [10, 11, 14, 15]])))
    assert capture.streams[0].lost == 2


def test_a_new_ssrc_on_the_same_ports_is_a_new_stream():
    capture = parse_pcap(pcap(records([packet(1, ssrc=1), packet(2, ssrc=1), packet(1, ssrc=2)])))
    assert sorted(s.ssrc for s in capture.streams) == [1, 2]


def test_csrc_extension_and_padding_are_not_mistaken_for_audio():
    audio = bytes(range(160))
    fancy = Rtp(audio, 1, 0, 7, csrc=(1, 2), extension=b"\x10\xaa\x00\x00", padding=4)
    capture = parse_pcap(pcap(records([fancy])))
    (stream,) = capture.streams
    assert bytes(capture.payload(stream, 0)) == audio


def test_what_is_not_rtp_over_udp_is_counted_and_skipped():
    good = rtp_over_ip(packet(1), PHONE, RTPENGINE_A)
    rtcp = ipv4(
        PHONE[0],
        RTPENGINE_A[0],
        udp(20001, 41015, struct.pack("!BBHI", 0x80, 200, 6, 1) + bytes(20)),
    )
    tcp = ipv4(PHONE[0], RTPENGINE_A[0], bytes(40), proto=6)
    fragment = ipv4(PHONE[0], RTPENGINE_A[0], udp(1, 2, packet(2).encode()), flags_frag=0x2000)
    stun = ipv4(PHONE[0], RTPENGINE_A[0], udp(20000, 41014, b"\x00\x01" + bytes(30)))
    rtcp_muxed = rtp_over_ip(Rtp(b"x" * 20, 0, 0, 1, pt=72, marker=True), PHONE, RTPENGINE_A)
    short_udp = ipv4(PHONE[0], RTPENGINE_A[0], udp(20000, 41014, b"\x80\x08"))
    header_only = rtp_over_ip(Rtp(b"", 3, 0, 0xA), PHONE, RTPENGINE_A)
    junk = [rtcp, tcp, fragment, stun, rtcp_muxed, short_udp, header_only, b"", b"\x45"]
    data = pcap([(T0 + i, frame) for i, frame in enumerate([good, *junk])])

    capture = parse_pcap(data)

    assert capture.records == 10
    assert capture.skipped == 9
    assert [s.packets for s in capture.streams] == [1]


def test_a_udp_length_longer_than_the_packet_is_rejected_not_read_past():
    datagram = bytearray(udp(20000, 41014, packet(1).encode()))
    datagram[4:6] = struct.pack("!H", 4000)
    capture = parse_pcap(pcap([(T0, ipv4(PHONE[0], RTPENGINE_A[0], bytes(datagram)))]))
    assert capture.streams == ()
    assert capture.skipped == 1


@pytest.mark.parametrize("vlan", [None, 42])
def test_ethernet_frames_with_or_without_vlan_and_padding(vlan):
    tiny = Rtp(b"\xd5\xd5", 1, 0, 9)  # short enough that Ethernet pads the frame
    ip = ipv4(PHONE[0], RTPENGINE_A[0], udp(PHONE[1], RTPENGINE_A[1], tiny.encode()))
    frame = ethernet(ip, vlan=vlan, pad_to=64)
    capture = parse_pcap(pcap([(T0, frame)], link_type=LINKTYPE_ETHERNET))
    (stream,) = capture.streams
    assert bytes(capture.payload(stream, 0)) == b"\xd5\xd5"  # not the padding


def test_ipv6_streams_keep_their_addresses():
    src, dst = ("2001:db8::5", 20000), ("2001:db8::1", 41014)
    capture = parse_pcap(pcap(records([packet(1), packet(2)], src, dst)))
    (stream,) = capture.streams
    assert stream.source == Endpoint("2001:db8::5", 20000)
    assert str(stream.destination) == "[2001:db8::1]:41014"


def test_ipv6_with_an_extension_header_is_skipped():
    frame = ipv6(
        "2001:db8::5", "2001:db8::1", bytes(8) + udp(1, 2, packet(1).encode()), next_header=0
    )
    assert parse_pcap(pcap([(T0, frame)])).streams == ()


@pytest.mark.parametrize(("endian", "nano"), [("<", False), (">", False), ("<", True), (">", True)])
def test_both_byte_orders_and_nanosecond_timestamps(endian, nano):
    data = pcap(records([packet(1), packet(2)]), endian=endian, nano=nano)
    (stream,) = parse_pcap(data).streams
    assert stream.arrival_us.tolist() == [T0, T0 + 20_000]


def test_records_of_mixed_sizes_take_the_general_walk():
    sizes = [160, 4, 160, 80, 160]
    packets = [packet(i, payload=bytes([i]) * n) for i, n in enumerate(sizes)]
    capture = parse_pcap(pcap(records(packets)))
    (stream,) = capture.streams
    assert stream.payload_length.tolist() == sizes


def test_a_file_cut_inside_its_last_record_keeps_the_whole_records():
    data = pcap(records([packet(s) for s in range(5)]))
    capture = parse_pcap(data[:-50])
    assert capture.truncated
    assert capture.streams[0].sequence.tolist() == [0, 1, 2, 3]


def test_a_corrupt_record_length_stops_reading_and_flags_it():
    data = bytearray(pcap(records([packet(s) for s in range(3)])))
    second = 24 + 16 + 200
    struct.pack_into("<I", data, second + 8, 10_000_000)
    capture = parse_pcap(bytes(data))
    assert capture.truncated
    assert capture.streams[0].sequence.tolist() == [0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter"),
        (b"\x0a\x0d\x0d\x0a" + bytes(40), "pcapng"),
        (b"GIF89a" + bytes(40), "magic"),
        (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 113), "link type 113"),
    ],
)
def test_what_is_not_a_supported_pcap_is_a_permanent_error(data, message):
    with pytest.raises(PcapFormatError, match=message) as caught:
        parse_pcap(data)
    assert caught.value.retryable is False


def test_an_empty_capture_has_no_streams():
    capture = parse_pcap(pcap([]))
    assert (capture.records, capture.streams, capture.truncated) == (0, (), False)


@settings(max_examples=60, deadline=None)
@given(
    st.permutations(list(range(40))),
    st.integers(min_value=0, max_value=65535),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_any_arrival_order_gives_the_same_stream(order, first_seq, first_ts):
    def rtp(i: int) -> Rtp:
        return Rtp(bytes([i]) * 8, (first_seq + i) & 0xFFFF, (first_ts + 8 * i) & 0xFFFFFFFF, 5)

    capture = parse_pcap(pcap(records([rtp(i) for i in order])))
    (stream,) = capture.streams
    assert [bytes(capture.payload(stream, i))[0] for i in range(40)] == list(range(40))
    assert (stream.timestamp - stream.timestamp[0]).tolist() == [8 * i for i in range(40)]


def test_a_random_stream_round_trips_every_payload_byte():
    rng = random.Random(3)
    payloads = [rng.randbytes(rng.choice([80, 160, 240])) for _ in range(200)]
    packets = [packet(i, payload=p) for i, p in enumerate(payloads)]
    capture = parse_pcap(pcap(records(packets)))
    (stream,) = capture.streams
    assert [bytes(capture.payload(stream, i)) for i in range(200)] == payloads


@pytest.mark.skipif(not SIPP_PCAP.exists(), reason="sip-tester is not installed")
def test_sipps_sample_is_seven_seconds_of_a_law_over_ethernet():
    capture = read_pcap(SIPP_PCAP)
    assert capture.link_type == LINKTYPE_ETHERNET
    (stream,) = capture.streams
    assert stream.payload_types == {8}
    assert stream.lost == 0
    samples = int(stream.payload_length.sum())
    assert 7.0 <= samples / 8000 < 7.2
    assert (stream.timestamp[-1] - stream.timestamp[0] + stream.payload_length[-1]) == samples
