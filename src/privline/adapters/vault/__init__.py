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

from privline.adapters.vault.blobstore import BlobStore, FolderBlobStore, MemoryBlobStore
from privline.adapters.vault.crypto import MasterKey, Sealed, Sealer, seal, unseal
from privline.adapters.vault.metadata import RecordingMetadata
from privline.adapters.vault.spool import RecordingSpool, SpooledRecording

__all__ = [
    "BlobStore",
    "FolderBlobStore",
    "MasterKey",
    "MemoryBlobStore",
    "RecordingMetadata",
    "RecordingSpool",
    "Sealed",
    "Sealer",
    "SpooledRecording",
    "seal",
    "unseal",
]
