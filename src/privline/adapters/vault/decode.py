"""A recorded call's pcap and metadata -> its audio, one channel per party.

Kept apart from the package's ``__init__`` because it needs numpy: commands that never
decode audio do not pay numpy's import time.
"""

from __future__ import annotations

from privline.adapters.vault.audio import (
    DEFAULT_IGNORED_PAYLOAD_TYPES,
    DecodedCall,
    assemble,
    assign_parties,
)
from privline.adapters.vault.metadata import RecordingMetadata
from privline.adapters.vault.pcap import parse_pcap


def decode_recording(
    pcap: bytes | bytearray | memoryview, metadata: RecordingMetadata | None
) -> DecodedCall:
    """A recording's audio, one channel per party (caller, callee, then any unattributed)."""
    capture = parse_pcap(pcap)
    roles = metadata.port_roles() if metadata is not None else None
    ignored = DEFAULT_IGNORED_PAYLOAD_TYPES | (
        metadata.ignorable_payload_types() if metadata is not None else frozenset()
    )
    return assemble(capture, assign_parties(capture.streams, roles), ignored_payload_types=ignored)
