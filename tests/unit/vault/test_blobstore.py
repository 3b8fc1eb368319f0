"""The blob store: whole blobs or none, never a replaced blob, deletes that stick."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from privline.adapters.vault import blobstore
from privline.adapters.vault.blobstore import FolderBlobStore, MemoryBlobStore
from privline.adapters.vault.exceptions import BlobExists, BlobNotFound, BlobStoreError

BLOB_ID = "3f2a9c0e7b5d4e1fa2b3c4d5e6f70812"


@pytest.fixture(params=["folder", "memory"])
def store(request, tmp_path):
    if request.param == "folder":
        return FolderBlobStore(tmp_path / "blobs")
    return MemoryBlobStore()


def test_a_stored_blob_reads_back_byte_for_byte(store):
    data = os.urandom(100_000)
    store.put(BLOB_ID, memoryview(data))
    assert store.get(BLOB_ID) == data
    assert store.exists(BLOB_ID)
    assert list(store.ids()) == [BLOB_ID]


def test_a_second_put_under_one_id_fails_and_the_first_blob_survives(store):
    store.put(BLOB_ID, b"first")
    with pytest.raises(BlobExists) as caught:
        store.put(BLOB_ID, b"second")
    assert caught.value.retryable is False
    assert store.get(BLOB_ID) == b"first"


def test_delete_is_idempotent_so_destruction_can_be_retried(store):
    store.put(BLOB_ID, b"x")
    assert store.delete(BLOB_ID) is True
    assert store.delete(BLOB_ID) is False
    assert not store.exists(BLOB_ID)
    with pytest.raises(BlobNotFound):
        store.get(BLOB_ID)


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "..", "a/b", "ABCDEF12", "abc", "", "x" * 129, ".hidden1"]
)
def test_ids_that_could_escape_or_collide_are_refused(store, bad):
    with pytest.raises(BlobStoreError) as caught:
        store.put(bad, b"x")
    assert caught.value.retryable is False


def test_blobs_are_private_files_in_private_folders(tmp_path):
    store = FolderBlobStore(tmp_path / "blobs")
    store.put(BLOB_ID, b"x")
    path = store.path(BLOB_ID)
    assert path == tmp_path / "blobs" / "3f" / f"{BLOB_ID}.blob"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "blobs").stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == [f"{BLOB_ID}.blob"]  # no temp left


def test_a_failed_write_leaves_no_blob_and_no_temporary_file(tmp_path, monkeypatch):
    store = FolderBlobStore(tmp_path / "blobs")

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(blobstore.os, "fsync", broken_fsync)
    with pytest.raises(BlobStoreError) as caught:
        store.put(BLOB_ID, b"audio")
    assert caught.value.retryable is True  # EIO: the disk may recover
    assert not store.exists(BLOB_ID)
    assert list((tmp_path / "blobs" / "3f").iterdir()) == []


def test_a_full_disk_is_retryable_a_read_only_one_is_not(tmp_path, monkeypatch):
    store = FolderBlobStore(tmp_path / "blobs")
    for code, retryable in [(errno.ENOSPC, True), (errno.EROFS, False)]:

        def failing_write(fd: int, data: object, code: int = code) -> int:
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(blobstore.os, "write", failing_write)
        with pytest.raises(BlobStoreError) as caught:
            store.put(BLOB_ID, b"audio")
        assert caught.value.retryable is retryable


def test_short_writes_are_continued_until_the_whole_blob_is_down(tmp_path, monkeypatch):
    store = FolderBlobStore(tmp_path / "blobs")
    real_write = os.write
    monkeypatch.setattr(blobstore.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    data = os.urandom(1000)
    store.put(BLOB_ID, data)
    assert store.get(BLOB_ID) == data


def test_without_hard_links_publishing_falls_back_to_rename(tmp_path, monkeypatch):
    store = FolderBlobStore(tmp_path / "blobs")

    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(blobstore.os, "link", no_links)
    store.put(BLOB_ID, b"first")
    with pytest.raises(BlobExists):
        store.put(BLOB_ID, b"second")
    assert store.get(BLOB_ID) == b"first"
    assert sorted(p.name for p in store.path(BLOB_ID).parent.iterdir()) == [f"{BLOB_ID}.blob"]


def test_sweeping_removes_only_old_temporary_files(tmp_path):
    store = FolderBlobStore(tmp_path / "blobs")
    store.put(BLOB_ID, b"x")
    folder = store.path(BLOB_ID).parent
    old = folder / f".{BLOB_ID}.aaaaaaaaaaaa.tmp"
    young = folder / f".{BLOB_ID}.bbbbbbbbbbbb.tmp"
    old.write_bytes(b"partial")
    young.write_bytes(b"partial")
    os.utime(old, (1000, 1000))
    os.utime(young, (5000, 5000))
    assert store.sweep_temporary(now=5100, older_than=3600) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted([young.name, f"{BLOB_ID}.blob"])
    assert list(store.ids()) == [BLOB_ID]


def test_a_symlink_planted_in_place_of_a_blob_is_not_followed(tmp_path):
    store = FolderBlobStore(tmp_path / "blobs")
    store.put(BLOB_ID, b"x")
    path = store.path(BLOB_ID)
    secret = tmp_path / "secret"
    secret.write_bytes(b"not a blob")
    path.unlink()
    path.symlink_to(secret)
    with pytest.raises(BlobStoreError):
        store.get(BLOB_ID)


def test_an_empty_store_lists_nothing(tmp_path):
    store = FolderBlobStore(tmp_path / "never-made")
    assert list(store.ids()) == []
    assert store.sweep_temporary(now=0, older_than=0) == 0
    assert store.delete(BLOB_ID) is False
