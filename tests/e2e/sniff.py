"""A loopback RTP sniffer (AF_PACKET, needs root): what each party actually received."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

ETH_P_ALL = 0x0003


@dataclass
class Heard:
    """Arrival times per (destination port, SSRC)."""

    streams: dict[tuple[int, int], list[float]] = field(
        default_factory=lambda: defaultdict(list))
    # (arrival, payload type, payload) per (port, SSRC), when the sniffer keeps them.
    payloads: dict[tuple[int, int], list[tuple[float, int, bytes]]] = field(
        default_factory=lambda: defaultdict(list))

    def add(self, port: int, ssrc: int, at: float) -> None:
        self.streams[(port, ssrc)].append(at)

    def at_port(self, port: int) -> dict[int, list[float]]:
        return {ssrc: v for (p, ssrc), v in self.streams.items() if p == port}


class Sniffer:
    def __init__(self, ports: range | set[int], *, payloads: bool = False) -> None:
        self.ports = ports
        self.keep_payloads = payloads
        self.heard = Heard()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sniffer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, meta = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if meta[2] == socket.PACKET_OUTGOING:
                continue  # loopback shows each packet twice
            ip = frame[14:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            udp = ip[(ip[0] & 0x0F) * 4 :]
            dport = struct.unpack(">H", udp[2:4])[0]
            if dport not in self.ports or len(udp) < 20 or udp[8] >> 6 != 2:
                continue
            if 72 <= (udp[9] & 0x7F) <= 76:
                continue
            ssrc, at = struct.unpack(">I", udp[16:20])[0], time.time()
            self.heard.add(dport, ssrc, at)
            if self.keep_payloads:
                rtp = udp[8:]
                self.heard.payloads[(dport, ssrc)].append(
                    (at, rtp[1] & 0x7F, bytes(rtp[12 + 4 * (rtp[0] & 0x0F):])))
