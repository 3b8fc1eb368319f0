"""Envelope encryption: what decrypts, what must not, and the master key file's safety."""

from __future__ import annotations

import os
import stat
import threading

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privline.adapters.vault import crypto
from privline.adapters.vault.crypto import (
    BLOB_HEADER_BYTES,
    WRAPPED_KEY_BYTES,
    MasterKey,
    Sealer,
    rewrap,
    seal,
    unseal,
    wrapped_key_id,
)
from privline.adapters.vault.exceptions import (
    InsecureKeyFileError,
    IntegrityError,
    MasterKeyError,
    RecordingTooLarge,
)

AUDIO = os.urandom(50_000)
CALL = "a84b4c76e66710@pc33.facility.example"
OTHER_CALL = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@trunk.example"


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.generate()


def test_a_sealed_recording_opens_with_its_wrapped_key_and_call_id(master):
    sealed = seal(AUDIO, CALL, master)
    assert len(sealed.blob) == BLOB_HEADER_BYTES + len(AUDIO) + 16
    assert len(sealed.wrapped_key) == WRAPPED_KEY_BYTES
    assert unseal(sealed.blob, sealed.wrapped_key, CALL, master) == AUDIO


def test_the_blob_holds_neither_the_plaintext_nor_any_key(master):
    sealed = seal(AUDIO, CALL, master)
    blob = bytes(sealed.blob)
    assert AUDIO[:64] not in blob
    assert sealed.wrapped_key not in blob
    data_key = master.unwrap(sealed.wrapped_key, CALL)
    assert data_key not in blob and data_key not in sealed.wrapped_key


def test_every_recording_gets_a_fresh_data_key_and_nonce(master):
    first, second = seal(AUDIO, CALL, master), seal(AUDIO, CALL, master)
    assert master.unwrap(first.wrapped_key, CALL) != master.unwrap(second.wrapped_key, CALL)
    assert bytes(first.blob) != bytes(second.blob)


def test_the_call_id_is_bound_to_both_blob_and_wrapped_key(master):
    sealed = seal(AUDIO, CALL, master)
    with pytest.raises(IntegrityError):
        unseal(sealed.blob, sealed.wrapped_key, OTHER_CALL, master)
    # Even with the right data key in hand, the blob itself refuses another call id.
    data_key = master.unwrap(sealed.wrapped_key, CALL)
    with pytest.raises(IntegrityError):
        unseal(sealed.blob, master.wrap(data_key, OTHER_CALL), OTHER_CALL, master)


def test_a_wrapped_key_swapped_between_two_recordings_of_one_call_fails(master):
    first, second = seal(AUDIO, CALL, master), seal(AUDIO, CALL, master)
    with pytest.raises(IntegrityError):
        unseal(first.blob, second.wrapped_key, CALL, master)


@pytest.mark.parametrize("where", [0, 5, 8, BLOB_HEADER_BYTES, BLOB_HEADER_BYTES + 1000, -1])
def test_any_flipped_bit_in_the_blob_is_detected(master, where):
    sealed = seal(AUDIO, CALL, master)
    blob = bytearray(sealed.blob)
    blob[where] ^= 0x01
    with pytest.raises(IntegrityError):
        unseal(blob, sealed.wrapped_key, CALL, master)


@pytest.mark.parametrize("where", [0, 4, 6, 14, 26, WRAPPED_KEY_BYTES - 1])
def test_any_flipped_bit_in_the_wrapped_key_is_detected(master, where):
    sealed = seal(AUDIO, CALL, master)
    wrapped = bytearray(sealed.wrapped_key)
    wrapped[where] ^= 0x01
    with pytest.raises((IntegrityError, MasterKeyError)):
        unseal(sealed.blob, bytes(wrapped), CALL, master)


def test_a_truncated_blob_or_key_is_an_integrity_error(master):
    sealed = seal(AUDIO, CALL, master)
    with pytest.raises(IntegrityError):
        unseal(sealed.blob[:-1], sealed.wrapped_key, CALL, master)
    with pytest.raises(IntegrityError):
        unseal(sealed.blob[:10], sealed.wrapped_key, CALL, master)
    with pytest.raises(IntegrityError):
        unseal(sealed.blob, sealed.wrapped_key[:-1], CALL, master)


def test_another_master_key_cannot_open_it(master):
    sealed = seal(AUDIO, CALL, master)
    with pytest.raises(MasterKeyError, match="no master key"):
        unseal(sealed.blob, sealed.wrapped_key, CALL, MasterKey.generate())


def test_rotation_rewraps_the_key_and_leaves_the_blob_alone(master):
    sealed = seal(AUDIO, CALL, master)
    new = MasterKey.generate()
    rewrapped = rewrap(sealed.wrapped_key, CALL, [master], new)
    assert wrapped_key_id(rewrapped) == new.key_id != master.key_id
    assert unseal(sealed.blob, rewrapped, CALL, [master, new]) == AUDIO
    assert unseal(sealed.blob, rewrapped, CALL, new) == AUDIO


def test_the_encryption_is_plain_aes_256_gcm_under_the_unwrapped_key(master):
    """Interoperability: any AES-GCM implementation can open a blob given the data key."""
    sealed = seal(AUDIO, CALL, master)
    data_key = master.unwrap(sealed.wrapped_key, CALL)
    assert len(data_key) == 32
    header = bytes(sealed.blob[:BLOB_HEADER_BYTES])
    nonce = header[8:20]
    aad = header + b"privline.recording\x00" + CALL.encode()
    assert AESGCM(data_key).decrypt(nonce, bytes(sealed.blob[BLOB_HEADER_BYTES:]), aad) == AUDIO


def test_a_sealer_reuses_its_buffer_and_each_blob_still_opens(master):
    sealer = Sealer(master)
    big = sealer.seal(AUDIO, CALL)
    big_copy, big_key = bytes(big.blob), big.wrapped_key
    small = sealer.seal(AUDIO[:100], OTHER_CALL)
    assert small.blob.obj is big.blob.obj  # the same memory, as promised
    assert unseal(small.blob, small.wrapped_key, OTHER_CALL, master) == AUDIO[:100]
    assert unseal(big_copy, big_key, CALL, master) == AUDIO


def test_more_than_one_aes_gcm_message_can_hold_is_refused(master, monkeypatch):
    monkeypatch.setattr(crypto, "MAX_PLAINTEXT", 10)
    with pytest.raises(RecordingTooLarge):
        seal(b"x" * 11, CALL, master)


def test_the_master_key_never_shows_in_its_repr(master):
    assert master.key_id.hex() in repr(master)
    assert len(repr(master)) < 40


# --- the key file -------------------------------------------------------------------


def test_a_created_key_file_is_0600_even_under_a_careless_umask(tmp_path):
    path = tmp_path / "keys" / "master.key"
    old = os.umask(0o000)
    try:
        created = MasterKey.create(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert MasterKey.load(path).key_id == created.key_id
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o644])
def test_a_key_file_others_can_read_or_write_is_refused(tmp_path, mode):
    path = tmp_path / "master.key"
    MasterKey.create(path)
    path.chmod(mode)
    with pytest.raises(InsecureKeyFileError, match="chmod 600") as caught:
        MasterKey.load(path)
    assert caught.value.retryable is False


def test_creating_never_replaces_an_existing_key(tmp_path):
    path = tmp_path / "master.key"
    first = MasterKey.create(path)
    with pytest.raises(MasterKeyError, match="already exists"):
        MasterKey.create(path)
    assert MasterKey.load(path).key_id == first.key_id


def test_processes_racing_to_create_the_key_all_end_up_with_the_same_one(tmp_path):
    path = tmp_path / "master.key"
    ids: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        ids.append(MasterKey.load_or_create(path).key_id)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 8 and len(set(ids)) == 1


def test_load_or_create_does_not_paper_over_a_broken_key_file(tmp_path):
    path = tmp_path / "master.key"
    path.write_bytes(b"not a key\n")
    path.chmod(0o600)
    with pytest.raises(MasterKeyError, match="32-byte key"):
        MasterKey.load_or_create(path)
    assert path.read_bytes() == b"not a key\n"


@pytest.mark.parametrize(
    "encode",
    [
        lambda key: key,
        lambda key: key.hex().encode() + b"\n",
        lambda key: __import__("base64").b64encode(key) + b"\n",
        lambda key: __import__("base64").urlsafe_b64encode(key).rstrip(b"="),
    ],
    ids=["raw", "hex", "base64", "base64url-unpadded"],
)
def test_a_key_file_may_be_raw_hex_or_base64(tmp_path, encode):
    key = os.urandom(32)
    path = tmp_path / "master.key"
    path.write_bytes(encode(key))
    path.chmod(0o600)
    assert MasterKey.load(path).key_id == MasterKey(key).key_id


def test_a_missing_key_file_says_so(tmp_path):
    with pytest.raises(MasterKeyError, match="does not exist"):
        MasterKey.load(tmp_path / "nope.key")


def test_a_directory_is_not_a_key_file(tmp_path):
    folder = tmp_path / "dir.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(MasterKeyError):
        MasterKey.load(folder)


def test_a_key_of_the_wrong_length_is_refused():
    with pytest.raises(MasterKeyError, match="32 bytes"):
        MasterKey(b"short")
