"""The recording vault's I/O: rtpengine spool -> pcap -> G.711 -> WAV -> sealed blob.

Pure adapter code: no database, no clock, no settings. The ingest service composes it::

    spool = RecordingSpool(recording_dir)
    for recording in spool.finished():
        metadata = spool.read_metadata(recording)
        call = decode_recording(spool.read_pcap(recording), metadata)
        sealed = sealer.seal(call.wav(), call_id)
        store.put(blob_id, sealed.blob)     # then index row + wrapped key + audit, one tx
        spool.remove(recording)             # only after the transaction commits
"""

from privline.adapters.vault.audio import (
    DEFAULT_IGNORED_PAYLOAD_TYPES,
    DecodedCall,
    assemble,
    assign_parties,
)
from privline.adapters.vault.blobstore import BlobStore, FolderBlobStore, MemoryBlobStore
from privline.adapters.vault.crypto import MasterKey, Sealed, Sealer, seal, unseal
from privline.adapters.vault.pcap import RtpCapture, RtpStream, parse_pcap
from privline.adapters.vault.spool import RecordingMetadata, RecordingSpool, SpooledRecording


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


__all__ = [
    "BlobStore",
    "DecodedCall",
    "FolderBlobStore",
    "MasterKey",
    "MemoryBlobStore",
    "RecordingMetadata",
    "RecordingSpool",
    "RtpCapture",
    "RtpStream",
    "Sealed",
    "Sealer",
    "SpooledRecording",
    "decode_recording",
    "parse_pcap",
    "seal",
    "unseal",
]
