"""The vault's pieces composed as ingest will compose them, minus the database."""

from __future__ import annotations

import io
import os
import wave

import pytest

from privline.adapters.vault import (
    FolderBlobStore,
    MasterKey,
    RecordingSpool,
    Sealer,
    unseal,
)
from privline.adapters.vault.decode import decode_recording
from privline.adapters.vault.exceptions import BlobNotFound, IntegrityError
from tests.unit.vault.synth import two_party_call
from tests.unit.vault.test_spool import PLAIN, PLAIN_KEY


@pytest.fixture
def spool(tmp_path) -> RecordingSpool:
    root = tmp_path / "spool"
    for name in ("pcaps", "metadata", "tmp"):
        (root / name).mkdir(parents=True)
    return RecordingSpool(root)


def test_a_finished_recording_ends_as_a_sealed_blob_and_no_plaintext(spool, tmp_path):
    pcap, _, _ = two_party_call(2.0)
    (spool.pcaps / f"{PLAIN_KEY}.pcap").write_bytes(pcap)
    (spool.metadata / f"rtpengine-meta-{PLAIN_KEY}.txt").write_text(PLAIN)
    master = MasterKey.create(tmp_path / "home" / "master.key")
    store = FolderBlobStore(tmp_path / "home" / "vault")

    (recording,) = spool.finished()
    call = decode_recording(spool.read_pcap(recording), spool.read_metadata(recording))
    wav = call.wav()
    sealed = Sealer(master).seal(wav, recording.call_id)
    store.put("rec0001", sealed.blob)
    index_row = {
        "blob_id": "rec0001",
        "wrapped_key": sealed.wrapped_key,
        "call_id": recording.call_id,
    }
    spool.remove(recording)

    assert list(spool.pcaps.iterdir()) == [] and list(spool.metadata.iterdir()) == []
    stored = store.get("rec0001")
    assert bytes(wav[44:1044]) not in stored  # ciphertext at rest
    opened = unseal(stored, index_row["wrapped_key"], index_row["call_id"], master)
    with wave.open(io.BytesIO(opened)) as reader:
        assert (reader.getnchannels(), reader.getnframes()) == (2, 16_000)


def test_a_backup_copy_of_a_destroyed_blob_opens_with_nothing_the_vault_still_has(tmp_path):
    pcap, _, _ = two_party_call(1.0)
    master = MasterKey.generate()
    store = FolderBlobStore(tmp_path / "vault")
    sealed = Sealer(master).seal(decode_recording(pcap, None).wav(), "call-1")
    store.put("rec0002", sealed.blob)
    backup = store.get("rec0002")

    # Destruction: the index row's wrapped key is deleted, then the blob.
    del sealed
    assert store.delete("rec0002")

    with pytest.raises(BlobNotFound):
        store.get("rec0002")
    # What is left is the master key; any data key it wraps now is not the blob's.
    forged = master.wrap(os.urandom(32), "call-1")
    with pytest.raises(IntegrityError):
        unseal(backup, forged, "call-1", master)
