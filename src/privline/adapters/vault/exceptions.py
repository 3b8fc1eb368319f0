"""Errors of the vault adapter (pcap decoding, encryption, blob store, rtpengine spool).

    VaultError                      .retryable says whether trying again can help
    ├── RecordingFormatError        a recording cannot be read as it is; retry cannot help
    │   ├── PcapFormatError         not a pcap, an unknown link type, a corrupt header
    │   ├── MetadataFormatError     an rtpengine metadata file that does not parse
    │   ├── UnsupportedCodecError   audio in a codec other than G.711 (PCMU/PCMA)
    │   └── RecordingTooLarge       past the duration or size the vault accepts
    ├── MasterKeyError              the master key file is missing, malformed or unsafe
    │   └── InsecureKeyFileError    readable or writable by group/others, or not ours
    ├── IntegrityError              a blob or wrapped key fails authentication: wrong
    │                               key, wrong call id, or tampered bytes
    ├── BlobStoreError (retryable)  the blob folder failed (disk full, I/O error)
    │   ├── BlobNotFound            no blob under that id; retry cannot help
    │   └── BlobExists              a blob is already stored under that id
    └── SpoolError (retryable)      rtpengine's recording folder is missing or unreadable

Every recording error is permanent: the same bytes fail the same way, so the caller
should quarantine the spool files and open an incident rather than loop. Storage and
spool errors are usually transient (a mount not ready, a full disk) and are worth a
retry with backoff. An instance may override its class default, for example an
``OSError`` whose errno says the condition will not clear by itself.
"""

from __future__ import annotations

import errno


class VaultError(Exception):
    """Base of every vault error; `retryable` tells the caller whether to try again."""

    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class RecordingFormatError(VaultError):
    pass


class PcapFormatError(RecordingFormatError):
    pass


class MetadataFormatError(RecordingFormatError):
    pass


class UnsupportedCodecError(RecordingFormatError):
    pass


class RecordingTooLarge(RecordingFormatError):
    pass


class MasterKeyError(VaultError):
    pass


class InsecureKeyFileError(MasterKeyError):
    pass


class IntegrityError(VaultError):
    pass


class BlobStoreError(VaultError):
    retryable = True


class BlobNotFound(BlobStoreError):
    retryable = False


class BlobExists(BlobStoreError):
    retryable = False


class SpoolError(VaultError):
    retryable = True


# Conditions an operator must fix; waiting will not clear them.
_PERMANENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ELOOP,
        errno.ENAMETOOLONG,
        errno.EINVAL,
    }
)


def retryable_oserror(exc: OSError) -> bool:
    """Whether an OSError from the filesystem may clear by itself (EIO, ENOSPC, ESTALE...)."""
    return exc.errno not in _PERMANENT_ERRNOS
