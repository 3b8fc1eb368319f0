"""File-system helpers every adapter that writes durably or keeps a secret shares.

Key files (the audit signing key, the PIN key, the vault's master key, the web session
secret) are read and created by the two functions below, so each gets the same checks:
a regular file, owned by this user (or root), readable by its owner only, checked on the
open file itself (``fstat``: what is checked is what is read); created mode 0600,
atomically, and never over another process's key.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


class KeyFileError(Exception):
    """A key file is missing, unreadable, malformed or readable by others (permanent)."""


class MissingKeyFile(KeyFileError):
    """There is no key file at the path."""


class InsecureKeyFile(KeyFileError):
    """Group or others may use the key file, or another user owns it."""


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink inside ``folder`` durable: fsync the folder itself."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_private(path: Path, what: str, *, limit: int = 64 * 1024) -> bytes:
    """The content of the key file ``path`` (``what`` names it in messages). A symlink is
    followed (secret stores mount files that way); the checks apply to what it reaches."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MissingKeyFile(f"no {what} at {path}; run `privline init`") from None
    except OSError as exc:
        raise KeyFileError(f"{what} {path} cannot be opened: {exc.strerror}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{what} {path} is not a regular file")
        if info.st_mode & 0o077:
            raise InsecureKeyFile(
                f"{what} {path} is mode {stat.S_IMODE(info.st_mode):04o}, readable by "
                "others; it must be readable by its owner only (chmod 600 it)")
        if info.st_uid not in (os.geteuid(), 0):
            raise InsecureKeyFile(f"{what} {path} belongs to uid {info.st_uid}, not this user")
        try:
            return os.read(fd, limit)
        except OSError as exc:
            raise KeyFileError(f"{what} {path} cannot be read: {exc.strerror}") from exc
    finally:
        os.close(fd)


def create_private(path: Path, content: bytes) -> bool:
    """Write a new key file, mode 0600, atomically; False (nothing written) when one
    already exists. Written aside, then hard-linked into place: the link fails if the
    name exists, so two processes starting at once cannot each write a different key,
    and no process ever reads a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.path.lexists(path):
        return False
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        os.fchmod(fd, 0o600)  # umask can only narrow the mode; this states it exactly
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(temp)
    fsync_dir(path.parent)
    return True
