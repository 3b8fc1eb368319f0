"""Test support: the privline switch, a sipp far end and sipp phones on 127.0.0.1.

Every process started here is kept by its own PID and stopped by that PID.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).parent / "scenarios"
VENV_BIN = Path(sys.executable).parent


def free_udp_port() -> int:
    """A free port for a daemon's SIP or control socket, from its own region below the
    ephemeral range: a port the kernel handed out for port 0 could be handed to any
    passing socket before the daemon binds it (the voice menu once found its port taken:
    "Address already in use")."""
    return _free_block(1, _own_slice(CONTROL_PORTS), step=1)


# Media ports come from two regions below the kernel's ephemeral range (32768 and up,
# where every socket bound to port 0 lands): rtpengine's ranges from the first, the
# phones' from the second, so neither can take the other's ports, nor can a passing
# ephemeral socket take a phone's.
RTPENGINE_PORTS = (10000, 26000)
PHONE_PORTS = (26000, 32000)
CONTROL_PORTS = (32000, 32768)  # SIP, trunk, ng, voice-menu ports
SLICES = 4  # of the control and phone regions: one per xdist worker, one for the rest
_handed: deque[int] = deque(maxlen=64)  # ports this process picked, perhaps not yet bound


def _own_slice(region: tuple[int, int]) -> tuple[int, int]:
    """This process's slice of ``region``. A pick only proves a port free at that
    moment: a stack picks its five ports before its daemons bind them, and a restart
    frees them for seconds. Kamailio and rtpengine bind with SO_REUSEADDR, so another
    process's daemon given the same port binds it too, and the two stacks' messages
    cross (seen: one switch's ng offers reaching another's Kamailio). Each xdist worker
    (and any other process: a benchmark, a run without workers) picks from its own slice,
    so the suite's two switches can never be handed one port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) % (SLICES - 1) + 1 if worker[2:].isdigit() else 0
    width = (region[1] - region[0]) // SLICES
    return region[0] + index * width, region[0] + (index + 1) * width


def free_rtp_base(width: int) -> int:
    """An even base for rtpengine's ``width`` ports that look free (checked every 50).
    rtpengine binds its ports call by call and skips any it cannot bind."""
    return _free_block(width, RTPENGINE_PORTS, step=50)


def free_phone_media() -> int:
    """An even base for a phone's media ports (sipp binds base to base + 3)."""
    return _free_block(4, _own_slice(PHONE_PORTS), step=1)


def _free_block(width: int, region: tuple[int, int], step: int) -> int:
    for _ in range(50):
        base = random.randrange(region[0], region[1] - width, 2 if width > 1 else 1)
        if any(base <= port < base + width for port in _handed):
            continue  # picked a moment ago for another daemon of this stack
        try:
            for port in range(base, base + width, step):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        if width <= 4:  # a daemon's or a phone's ports (rtpengine's own range skips)
            _handed.extend(range(base, base + width))
        return base
    raise RuntimeError(f"no free ports in {region[0]}-{region[1]}")


SAMPLE = Path("/usr/share/sip-tester/g711a.pcap")


def long_sample(folder: Path, repeats: int) -> Path:
    """sipp's 7 s A-law sample repeated, with RTP sequence numbers, timestamps and
    capture times carried on, so a phone talks for the whole of a longer call."""
    target = folder / f"g711a-x{repeats}.pcap"
    if target.exists():
        return target
    data = SAMPLE.read_bytes()
    header, records, offset = data[:24], [], 24
    while offset + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[offset : offset + 16])
        records.append((sec + usec / 1e6, data[offset + 16 : offset + 16 + incl], orig))
        offset += 16 + incl
    first, last = records[0][0], records[-1][0]
    span = last - first + 0.03
    out = bytearray(header)
    rtp_at = 14 + 20 + 8  # Ethernet, IPv4 without options, UDP
    for n in range(repeats):
        for at, frame, orig in records:
            frame = bytearray(frame)
            seq, ts = struct.unpack(">HI", frame[rtp_at + 2 : rtp_at + 8])
            frame[rtp_at + 2 : rtp_at + 8] = struct.pack(
                ">HI", (seq + n * len(records)) & 0xFFFF, (ts + n * int(span * 8000)) & 0xFFFFFFFF)
            t = at + n * span
            out += struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), orig) + frame
    target.write_bytes(bytes(out))
    return target


DIGIT_PCAPS = {**{str(n): f"dtmf_2833_{n}.pcap" for n in range(10)},
               "*": "dtmf_2833_star.pcap", "#": "dtmf_2833_pound.pcap"}


def digits_pcap(folder: Path, keys: str, gap_s: float = 0.3) -> Path:
    """sipp's RFC 2833 digit captures joined into one: the keys pressed in order, one
    every ``gap_s``. sipp's captures all share one RTP timestamp base, and a receiver
    takes two events with one timestamp for one key press: each key gets its own."""
    target = folder / f"digits-{keys.replace('*', 's').replace('#', 'p')}.pcap"
    if target.exists():
        return target
    out, header, seq = bytearray(), b"", 0
    rtp_at = 14 + 20 + 8
    for index, key in enumerate(keys):
        data = (SAMPLE.parent / DIGIT_PCAPS[key]).read_bytes()
        header = data[:24]
        offset, first = 24, None
        while offset + 16 <= len(data):
            sec, usec, incl, orig = struct.unpack("<IIII", data[offset : offset + 16])
            frame = bytearray(data[offset + 16 : offset + 16 + incl])
            offset += 16 + incl
            first = first if first is not None else sec + usec / 1e6
            at = 1_000_000_000 + index * gap_s + (sec + usec / 1e6 - first)
            frame[rtp_at + 2 : rtp_at + 8] = struct.pack(
                ">HI", (1000 + seq) & 0xFFFF, 10_000 + index * int(gap_s * 8000))
            seq += 1
            out += struct.pack("<IIII", int(at), int((at % 1) * 1e6), len(frame), orig)
            out += frame
    target.write_bytes(header + bytes(out))
    return target


def stop_pid(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    sip_port: int
    trunk_port: int
    uas_media_port: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    # -- privline commands ---------------------------------------------------------
    def privline(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(VENV_BIN / "privline"), *args], env=self.env,
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"privline {' '.join(args)}: {result.stderr}")
        return result

    def switch(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.privline("switch", *args, check=check)

    def shed_count(self) -> int:
        """Call set-ups the switch has refused for overload since it first ran here."""
        status = json.loads(self.switch("status", "--json", check=False).stdout)
        return int(status["shed_for_overload"])

    def calls_list(self) -> dict[str, dict[str, Any]]:
        """`privline calls list --json`, by call id: every call, refused ones too."""
        result = self.privline("calls", "list", "--limit", "10000", "--json")
        return {c["call_id"]: c for c in json.loads(result.stdout)["calls"]}

    @property
    def spool(self) -> Path:
        return self.home / "recordings" / "spool"

    def wait_records(self, call_ids: list[str], timeout: float = 60.0
                     ) -> dict[str, dict[str, Any] | None]:
        """Poll `calls list` until every one of these calls is listed and closed (an
        event, not a sleep: the deadline is only there to report what never came)."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.calls_list()
            records = {c: listed.get(c) for c in call_ids}
            if all(r is not None and r["ended_at"] is not None for r in records.values()):
                return records
            if time.monotonic() > deadline:
                return records
            time.sleep(0.5)

    def wait_until(self, what: str, check: Any, timeout: float = 60.0,
                   explain: Any = None) -> Any:
        """Poll ``check()`` until it returns something true; on the deadline, say what
        ``explain()`` (if given) finds still missing."""
        deadline = time.monotonic() + timeout
        while not (value := check()):
            if time.monotonic() > deadline:
                detail = f": {explain()}" if explain is not None else ""
                raise AssertionError(f"timed out waiting for {what}{detail}")
            time.sleep(0.2)
        return value

    # -- calls -----------------------------------------------------------------------
    def sipp_calls(self, rows: list[tuple[str, str, str, str, str]], *, pause_ms: int,
                   rate: float = 10, scenario: str = "uac.xml", wait: bool = True,
                   timeout: float = 120, sample_repeats: int = 2,
                   at_once: int | None = None) -> Calls:
        """Place one call per row (facility, resident, pin, private, dialled); at most
        ``at_once`` in progress at a time (default: all)."""
        tag = uuid.uuid4().hex[:10]
        workdir = self.home / "sipp" / tag
        workdir.mkdir(parents=True)
        csv = workdir / "calls.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"x;{';'.join(r)}\n" for r in rows))
        media = free_phone_media()
        sample = long_sample(self.home / "sipp", sample_repeats)
        xml = workdir / scenario
        xml.write_text((SCENARIOS / scenario).read_text().replace(str(SAMPLE), str(sample)))
        argv = [
            "sipp", "-sf", str(xml), "-inf", str(csv),
            "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(media),
            f"127.0.0.1:{self.sip_port}", "-m", str(len(rows)), "-r", str(rate),
            "-l", str(at_once or len(rows)), "-d", str(pause_ms), "-nostdin", "-trace_err",
            "-cid_str", f"{tag}-%u@privline.test", "-timeout", str(int(timeout)),
        ]
        proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        calls = Calls(proc, [f"{tag}-{n}@privline.test" for n in range(1, len(rows) + 1)],
                      media, workdir)
        if wait:
            calls.wait(timeout)
        return calls


    def menu_call(self, dialled: str, keys: str, *, hangs_up_after_ms: int | None,
                  timeout: float = 120, wait: bool = True,
                  credentials: tuple[str, str] | None = None) -> Calls:
        """One call from a stock phone (no privline headers): dials ``dialled``, keys
        ``keys`` once answered; hangs up after the pause, or (None) waits for the switch
        to hang up. A phone that could not bind its media ports (another process took
        them between the check and sipp's start) never called: it is started again.
        Without ``wait`` the phone is left running (``Calls.wait`` ends it). With
        ``credentials`` (username, password) the phone signs in when challenged
        (``menu_phone_auth.xml``), and hangs up after the pause."""
        for _ in range(3):
            calls = self._menu_call(dialled, keys, hangs_up_after_ms, timeout, credentials)
            if not wait:
                return calls
            calls.wait(timeout)
            if "Unable to bind" not in calls.errors:
                return calls
        return calls

    def _menu_call(self, dialled: str, keys: str, hangs_up_after_ms: int | None,
                   timeout: float, credentials: tuple[str, str] | None) -> Calls:
        tag = uuid.uuid4().hex[:10]
        workdir = self.home / "sipp" / tag
        workdir.mkdir(parents=True)
        fields = dialled if credentials is None else f"{dialled};{credentials[0]}"
        (workdir / "calls.csv").write_text(f"SEQUENTIAL\n{fields}\n")
        scenario = "menu_phone_wait.xml" if hangs_up_after_ms is None else "menu_phone.xml"
        if credentials is not None:
            scenario = "menu_phone_auth.xml"
        pcap = digits_pcap(self.home / "sipp", keys)
        xml = workdir / scenario
        text = (SCENARIOS / scenario).read_text().replace("DIGITS.pcap", str(pcap))
        if credentials is not None:
            text = text.replace("PHONE_USER", credentials[0]).replace(
                "PHONE_PASSWORD", credentials[1])
        xml.write_text(text)
        media = free_phone_media()
        argv = [
            "sipp", "-sf", str(xml), "-inf", str(workdir / "calls.csv"),
            "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(media),
            f"127.0.0.1:{self.sip_port}", "-m", "1", "-l", "1",
            "-d", str(hangs_up_after_ms or 0), "-nostdin", "-trace_err",
            "-cid_str", f"{tag}-%u@privline.test", "-timeout", str(int(timeout)),
        ]
        proc = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        return Calls(proc, [f"{tag}-1@privline.test"], media, workdir)


@dataclass
class Calls:
    proc: subprocess.Popen[bytes]
    call_ids: list[str]
    media_port: int
    workdir: Path

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            stop_pid(self.proc)

    @property
    def errors(self) -> str:
        logs = list(self.workdir.glob("*_errors.log"))
        return logs[0].read_text()[-3000:] if logs else ""

    def shed(self) -> set[str]:
        """The calls the switch refused for overload (503, `X-Privline-Reason:
        overloaded`; docs/overload.md): sipp logs each as aborted on that answer. A
        burst of set-ups (sipp itself starved of CPU, then catching up) can find every
        decision slot busy; such a call is not placed and leaves a count, not a record."""
        shed = set()
        for log in self.workdir.glob("*_errors.log"):
            for event in log.read_text().split("Aborting call on unexpected message")[1:]:
                call_id = event.split("Call-Id '", 1)[1].split("'", 1)[0]
                if "503 Service Unavailable" in event and "overloaded" in event:
                    shed.add(call_id)
        return shed


def start_stack(home: Path, minute_seconds: float, far_end: str = "uas.xml") -> Stack:
    sip_port, trunk_port = free_udp_port(), free_udp_port()
    rtp = free_rtp_base(4000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
    env.update({
        "PRIVLINE_HOME": str(home),
        "PRIVLINE_SIP_PORT": str(sip_port),
        "PRIVLINE_SIP_TRUNK": f"127.0.0.1:{trunk_port}",
        "PRIVLINE_NG_PORT": str(free_udp_port()),
        "PRIVLINE_IVR_PORT": str(free_udp_port()),
        "PRIVLINE_IVR_MEDIA_PORT": str(free_udp_port()),
        "PRIVLINE_RTP_PORTS": f"{rtp}-{rtp + 3998}",
        "PRIVLINE_SWITCH_MINUTE_SECONDS": str(minute_seconds),
        "PRIVLINE_KAMAILIO_CHILDREN": "8",
        # These tests read rtpengine's spool; the vault's own tests cover ingest.
        "PRIVLINE_SWITCH_INGEST": "0",
    })
    stack = Stack(home, env, sip_port, trunk_port, free_phone_media())
    uas_dir = home / "sipp" / "uas"
    uas_dir.mkdir(parents=True)
    uas = uas_dir / far_end
    sample = long_sample(home / "sipp", 2)
    uas.write_text((SCENARIOS / far_end).read_text().replace(str(SAMPLE), str(sample)))
    stack.procs.append(subprocess.Popen(
        ["sipp", "-sf", str(uas), "-i", "127.0.0.1",
         "-p", str(trunk_port), "-mp", str(stack.uas_media_port), "-nostdin",
         "-trace_err", "-trace_msg"],
        cwd=uas_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return stack


def sip_request(port: int, *, headers: dict[str, str], dialled: str, sdp: bool = True,
                timeout: float = 60.0) -> tuple[int, dict[str, str], str]:
    """One INVITE from a plain socket; returns (final status, headers, call-id).
    For refusals, where no media flows. Waits for the final answer (the deadline only
    reports one that never comes: a busy machine may take seconds to decide)."""
    call_id = f"refuse-{uuid.uuid4().hex[:12]}@privline.test"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local = sock.getsockname()[1]
        body = ("v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                f"t=0 0\r\nm=audio {local + 2} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
                if sdp else "")
        head = [
            f"INVITE sip:{dialled}@127.0.0.1:{port} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{uuid.uuid4().hex}",
            "From: <sip:phone@127.0.0.1>;tag=refusal", f"To: <sip:{dialled}@127.0.0.1>",
            f"Call-ID: {call_id}", "CSeq: 1 INVITE", f"Contact: <sip:phone@127.0.0.1:{local}>",
            "Max-Forwards: 70", *(f"{k}: {v}" for k, v in headers.items()),
        ]
        if sdp:
            head.append("Content-Type: application/sdp")
        head.append(f"Content-Length: {len(body)}")
        invite = ("\r\n".join(head) + "\r\n\r\n" + body).encode()
        deadline = time.monotonic() + timeout
        resend, answered = 0.5, False
        sock.sendto(invite, ("127.0.0.1", port))
        while True:
            # Retransmit as a phone does (RFC 3261 timer A) until the switch answers
            # anything: a busy switch may drop a datagram.
            sock.settimeout(max(0.05, min(resend, deadline - time.monotonic())))
            try:
                data = sock.recv(65535).decode()
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
                if not answered:
                    sock.sendto(invite, ("127.0.0.1", port))
                    resend = min(resend * 2, 4.0)
                continue
            answered = True
            status = int(data.split(" ", 2)[1])
            if status >= 200:
                break
    fields = {}
    for line in data.split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return status, fields, call_id
