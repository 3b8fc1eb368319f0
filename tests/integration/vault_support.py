"""Helpers for the vault tests: calls placed through the switch, rtpengine's spool filled
with synthesized recordings of them, and a vault on disk under the test's folder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from privline.adapters.vault import FolderBlobStore, MasterKey
from privline.adapters.vault.decode import decode_recording
from privline.adapters.vault.metadata import parse_metadata
from privline.adapters.vault.storage import Blobs, MasterKeyring, SpoolSource
from privline.domain.access import Role
from privline.domain.model import Actor
from privline.domain.policy import CallRequest, Mode
from privline.services import calls
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.vault import Vault
from tests.conftest import NOW, ROSA
from tests.unit.vault.synth import two_party_call

SWITCH = Actor("switch", Role.SWITCH)
LATER = NOW + timedelta(minutes=2)  # when ingest runs: after the call


def metadata_text(pcap_path: Path, start_ms: float) -> str:
    """rtpengine's metadata file for a plain two-party call (as in tests/unit/vault)."""
    return (
        f"{pcap_path}\n\n\n"
        f"Timestamp started ms: {start_ms:.3f}\nSDP mode: offer\nSDP before RTP packet: 1\n\n"
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 41000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\na=rtcp:41001\r\n\n"
        f"Timestamp started ms: {start_ms + 0.003:.3f}\nSDP mode: answer\n"
        "SDP before RTP packet: 1\n\n"
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 41014 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\na=rtcp:41015\r\n\n"
        f"Timestamp terminated ms(first monologue): {start_ms + 60_000:.3f}\n\n"
        "call start time: 2026-07-01T12:00:00\ncall end time: 2026-07-01T12:01:00\n"
    )


@dataclass(frozen=True)
class Spooled:
    key: str
    call_id: str
    wav_sha256: str  # of the WAV ingest must store (decoded here independently)
    sample: bytes  # 64 bytes of plaintext audio that must never appear outside the spool


def spool_root(base: Path) -> Path:
    root = base / "recordings" / "spool"
    for name in ("pcaps", "metadata", "tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    return root


def spool_recording(root: Path, call_id: str, *, seconds: float = 1.0, seed: int = 1,
                    pcap: bytes | None = None) -> Spooled:
    """Write a finished recording of ``call_id`` as rtpengine would: the pcap, then the
    metadata file in metadata/ (the hangup signal)."""
    key = f"{quote(call_id, safe='~')}-{hashlib.sha256(call_id.encode()).hexdigest()[:16]}"
    pcap_path = root / "pcaps" / f"{key}.pcap"
    good, _, _ = two_party_call(seconds, seed=seed)
    data = good if pcap is None else pcap
    pcap_path.write_bytes(data)
    text = metadata_text(pcap_path, 1_795_000_000_000.0)
    (root / "metadata" / f"rtpengine-meta-{key}.txt").write_text(text)
    wav = bytes(decode_recording(good, parse_metadata(text)).wav())
    return Spooled(key, call_id, hashlib.sha256(wav).hexdigest(), wav[1000:1064])


def place_call(uow: UnitOfWorkFactory, sip_call_id: str, to: str, *, private: bool = False,
               at: datetime = NOW, facility: str = "state-prison", resident: str = ROSA
               ) -> Mode:
    return calls.decide_call(uow, SWITCH, CallRequest(facility, resident, to, private),
                             now=at, sip_call_id=sip_call_id).mode


def make_vault(base: Path, *, durable: bool = True) -> Vault:
    key_path = base / "keys" / "master.key"
    master = MasterKey.load(key_path) if key_path.exists() else MasterKey.create(key_path)
    return Vault(SpoolSource(spool_root(base)), MasterKeyring(master),
                 Blobs(FolderBlobStore(base / "vault", durable=durable)))


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


class Samples:
    """Finds any of many plaintext samples in a file in one pass over it, not one pass per
    sample (the crash test searches a growing database for a hundred samples after every
    kill). Every window of ``w`` bytes of every sample is indexed, ``w`` half the shortest
    sample: an occurrence of a sample starting at ``p`` covers the window of the data
    starting at the first multiple of ``w`` from ``p``, so the data is looked up every
    ``w`` bytes and each hit compared in full."""

    def __init__(self, samples: Sequence[bytes]) -> None:
        self.samples = list(samples)
        assert all(self.samples), "an empty sample is in every file"
        self.w = max(1, min((len(s) for s in self.samples), default=2) // 2)
        self.windows: dict[bytes, list[tuple[bytes, int]]] = {}
        for sample in self.samples:
            for offset in range(len(sample) - self.w + 1):
                self.windows.setdefault(sample[offset:offset + self.w], []).append(
                    (sample, offset))

    def found_in(self, data: bytes) -> bool:
        w, windows = self.w, self.windows
        for at in range(0, len(data) - w + 1, w):
            for sample, offset in windows.get(data[at:at + w], ()):
                start = at - offset
                if start >= 0 and data[start:start + len(sample)] == sample:
                    return True
        return False


def plaintext_outside_spool(home: Path, spool: Path, samples: list[bytes]) -> list[str]:
    """Files outside the spool that contain any of the plaintext samples."""
    search = Samples(samples)
    return [str(path) for path in files_under(home)
            if spool not in path.parents and search.found_in(path.read_bytes())]
