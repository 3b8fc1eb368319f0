"""Where sealed recordings live: a port, a folder implementation, and an in-memory fake.

The folder may be a shared mount used by several ingest workers on several machines, so
every operation is safe to run concurrently and to be cut off by a crash at any point:

- ``put`` writes a temporary file in the blob's own folder, fsyncs it, publishes it with
  ``link`` (atomic, and unlike ``rename`` it refuses to replace an existing blob, so a
  second writer of the same id fails instead of silently swapping the audio under an
  index row holding the first writer's key), then fsyncs the folder so the name
  survives a power cut. A reader sees the whole blob or none; a crash leaves at most a
  dot-named temporary file for ``sweep_temporary`` to remove.
- ``delete`` unlinks and fsyncs the folder. It is idempotent: destruction is retried
  until it sticks. It does not overwrite the bytes first: on SSDs and copy-on-write
  filesystems that would not reach the old blocks anyway; what makes a deleted
  recording unreadable is that its wrapped key is gone (see ``crypto``).

Blobs are fanned out into 256 subfolders by the first two characters of their id so no
folder grows to millions of entries.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

from privline.adapters.vault.exceptions import (
    BlobExists,
    BlobNotFound,
    BlobStoreError,
    retryable_oserror,
)

Buffer = bytes | bytearray | memoryview

_ID: Final = re.compile(r"[0-9a-z][0-9a-z_-]{3,127}")
_SUFFIX: Final = ".blob"
# Filesystems that cannot hard-link (some FUSE and SMB mounts) say so with these.
_NO_LINKS: Final = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
)


class BlobStore(Protocol):
    def put(self, blob_id: str, data: Buffer) -> None: ...

    def get(self, blob_id: str) -> bytes: ...

    def delete(self, blob_id: str) -> bool: ...

    def exists(self, blob_id: str) -> bool: ...

    def ids(self) -> Iterator[str]: ...


def check_id(blob_id: str) -> str:
    """Blob ids become file names: lowercase letters, digits, '-' and '_' only."""
    if not _ID.fullmatch(blob_id):
        raise BlobStoreError(f"invalid blob id {blob_id!r}", retryable=False)
    return blob_id


class FolderBlobStore:
    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        # durable=False skips fsync: for tests and benchmarks that measure without it.
        self.durable = durable

    def path(self, blob_id: str) -> Path:
        return self.root / check_id(blob_id)[:2] / f"{blob_id}{_SUFFIX}"

    def put(self, blob_id: str, data: Buffer) -> None:
        final = self.path(blob_id)
        folder = final.parent
        temp = folder / f".{blob_id}.{os.urandom(6).hex()}.tmp"
        try:
            self._make_folders(folder)
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
            )
            try:
                _write_all(fd, memoryview(data).cast("B"))
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            self._publish(temp, final)
        except BlobStoreError:
            raise
        except OSError as exc:
            raise BlobStoreError(
                f"cannot store blob {blob_id}: {exc}", retryable=retryable_oserror(exc)
            ) from exc
        finally:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
        self._sync(folder)

    def get(self, blob_id: str) -> bytes:
        path = self.path(blob_id)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {blob_id}") from None
        except OSError as exc:
            raise BlobStoreError(
                f"cannot read blob {blob_id}: {exc}", retryable=retryable_oserror(exc)
            ) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BlobStoreError(f"blob {blob_id} is not a regular file", retryable=False)
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read()
        finally:
            os.close(fd)

    def delete(self, blob_id: str) -> bool:
        """Remove a blob; False if there was none (already destroyed)."""
        path = self.path(blob_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise BlobStoreError(
                f"cannot delete blob {blob_id}: {exc}", retryable=retryable_oserror(exc)
            ) from exc
        self._sync(path.parent)
        return True

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).is_file()

    def ids(self) -> Iterator[str]:
        """Every stored blob id, for reconciling against the index (orphans, strays)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                name = entry.name
                if name.endswith(_SUFFIX) and not name.startswith("."):
                    yield name[: -len(_SUFFIX)]

    def sweep_temporary(self, *, now: float, older_than: float) -> int:
        """Remove temporary files a crashed `put` left behind, if older than `older_than`
        seconds at `now` (epoch seconds). Younger ones may belong to a put in progress."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
                    continue
                try:
                    info = entry.lstat()
                    if stat.S_ISREG(info.st_mode) and now - info.st_mtime > older_than:
                        entry.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def _publish(self, temp: Path, final: Path) -> None:
        try:
            os.link(temp, final)
        except FileExistsError:
            raise BlobExists(f"a blob {final.stem} is already stored") from None
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            # No hard links here: rename is still atomic, but the existence check before
            # it is not, so two writers of one id could race. Ids are unique per
            # recording, and the index's unique constraint catches the rest.
            if os.path.lexists(final):
                raise BlobExists(f"a blob {final.stem} is already stored") from None
            os.rename(temp, final)

    def _make_folders(self, folder: Path) -> None:
        # 0700: the blobs are ciphertext, but their names and sizes are still metadata.
        for path in (self.root, folder):
            try:
                path.mkdir(mode=0o700, parents=path is self.root)
            except FileExistsError:
                continue
            if path is folder:
                self._sync(self.root)

    def _sync(self, folder: Path) -> None:
        if not self.durable:
            return
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise BlobStoreError(
                f"cannot sync {folder}: {exc}", retryable=retryable_oserror(exc)
            ) from exc


class MemoryBlobStore:
    """The fake for tests and dry runs: same contract, a dict underneath."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, blob_id: str, data: Buffer) -> None:
        if check_id(blob_id) in self.blobs:
            raise BlobExists(f"a blob {blob_id} is already stored")
        self.blobs[blob_id] = bytes(data)

    def get(self, blob_id: str) -> bytes:
        try:
            return self.blobs[check_id(blob_id)]
        except KeyError:
            raise BlobNotFound(f"no blob {blob_id}") from None

    def delete(self, blob_id: str) -> bool:
        return self.blobs.pop(check_id(blob_id), None) is not None

    def exists(self, blob_id: str) -> bool:
        return check_id(blob_id) in self.blobs

    def ids(self) -> Iterator[str]:
        yield from sorted(self.blobs)


def _write_all(fd: int, view: memoryview) -> None:
    # os.write may write less than asked (Linux caps one call near 2 GiB); loop until done.
    while view:
        written = os.write(fd, view)
        view = view[written:]
