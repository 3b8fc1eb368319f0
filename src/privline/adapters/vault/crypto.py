"""Envelope encryption of recordings with the `cryptography` library (no crypto of our own).

Each recording gets a fresh random 256-bit data key and is encrypted once with
AES-256-GCM. The data key is itself encrypted ("wrapped") with AES-256-GCM under the
master key. The two halves are stored apart on purpose::

    blob (blob store)      header(20) | ciphertext | tag(16)
        header = "PLVB" | version 1 | suite 1 | 0x0000 | nonce(12)
    wrapped key (index)    "PLWK" | version 1 | suite 1 | master key id(8) | nonce(12) | key+tag(48)

Destroying a recording is deleting its wrapped key: with it gone the blob is noise, even
in a backup or on a shared mount that missed the delete (crypto-shredding). Neither half
is ever written next to the other.

Both encryptions bind the call id as associated data (and the blob binds its own header),
so a blob or wrapped key moved onto another call's index row fails authentication instead
of decrypting as the wrong call. Nonces are random: each data key encrypts exactly one
message, and 96-bit random nonces under one master key stay far below the 2**32 messages
NIST SP 800-38D allows.

The master key id is a hash of the key, not the key: it tells which master key wrapped a
data key, so keys can be rotated by rewrapping index rows without touching a blob.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privline.adapters.files import (
    InsecureKeyFile,
    KeyFileError,
    MissingKeyFile,
    create_private,
    read_private,
)
from privline.adapters.vault.exceptions import (
    InsecureKeyFileError,
    IntegrityError,
    MasterKeyError,
    RecordingTooLarge,
)

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
VERSION: Final = 1
SUITE_AES256GCM: Final = 1  # data: AES-256-GCM; data key wrapped with AES-256-GCM
# `cryptography` refuses one AES-GCM message of 2**31 bytes or more.
MAX_PLAINTEXT: Final = 2**31 - 1

_BLOB: Final = struct.Struct(">4sBBH12s")
_WRAP: Final = struct.Struct(">4sBB8s12s")
BLOB_HEADER_BYTES: Final = _BLOB.size
WRAPPED_KEY_BYTES: Final = _WRAP.size + KEY_BYTES + TAG_BYTES
_BLOB_MAGIC: Final = b"PLVB"
_WRAP_MAGIC: Final = b"PLWK"
# Different labels keep a wrapped key and a blob from ever authenticating as each other.
_BLOB_CONTEXT: Final = b"privline.recording\x00"
_WRAP_CONTEXT: Final = b"privline.data-key\x00"
_KEY_ID_CONTEXT: Final = b"privline.master-key-id.v1\x00"

Buffer = bytes | bytearray | memoryview


class MasterKey:
    """The key-encryption key. Its bytes never leave this object; repr shows only the id."""

    __slots__ = ("_aead", "key_id")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise MasterKeyError(f"a master key is {KEY_BYTES} bytes, not {len(secret)}")
        self._aead = AESGCM(secret)
        self.key_id = hashlib.sha256(_KEY_ID_CONTEXT + secret).digest()[:8]

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id.hex()})"

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(KEY_BYTES))

    @classmethod
    def load(cls, path: Path) -> MasterKey:
        """Read a key file: 32 raw bytes, or one line of base64 or hex. Refuses a file
        that group or others may read or write, or that another user owns."""
        try:
            content = read_private(path, "master key file", limit=4096)
        except InsecureKeyFile as exc:
            raise InsecureKeyFileError(str(exc)) from None
        except MissingKeyFile:
            raise MasterKeyError(f"master key file {path} does not exist") from None
        except KeyFileError as exc:
            raise MasterKeyError(str(exc)) from None
        return cls(_parse_key(content, path))

    @classmethod
    def create(cls, path: Path) -> MasterKey:
        """Write a new key file, mode 0600, atomically and never over an existing one."""
        key = cls._create(path)
        if key is None:
            raise MasterKeyError(f"master key file {path} already exists")
        return key

    @classmethod
    def load_or_create(cls, path: Path) -> MasterKey:
        """Load the key file, creating it first if there is none (first start)."""
        return cls._create(path) or cls.load(path)

    @classmethod
    def _create(cls, path: Path) -> MasterKey | None:
        key = os.urandom(KEY_BYTES)
        try:
            created = create_private(path, base64.b64encode(key) + b"\n")
        except OSError as exc:
            raise MasterKeyError(f"cannot create master key file {path}: {exc}") from exc
        return cls(key) if created else None

    def wrap(self, data_key: bytes, call_id: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        header = _WRAP.pack(_WRAP_MAGIC, VERSION, SUITE_AES256GCM, self.key_id, nonce)
        return header + self._aead.encrypt(nonce, data_key, header + _WRAP_CONTEXT + _id(call_id))

    def unwrap(self, wrapped: bytes, call_id: str) -> bytes:
        header, nonce = _parse_wrapped(wrapped)
        try:
            return self._aead.decrypt(
                nonce, wrapped[_WRAP.size :], header + _WRAP_CONTEXT + _id(call_id)
            )
        except InvalidTag:
            raise IntegrityError("data key does not authenticate for this call") from None


@dataclass(frozen=True, eq=False)
class Sealed:
    blob: memoryview  # header + ciphertext + tag: what the blob store keeps
    wrapped_key: bytes  # what the index row keeps; deleting it destroys the recording


class Sealer:
    """Encrypts recordings into one output buffer it reuses.

    A fresh buffer per recording costs a page fault per 4 KiB as the cipher first writes
    it, which at these sizes takes longer than AES-GCM itself. An ingest worker seals
    one recording at a time, writes the blob out and moves on, so one buffer serves them
    all. Not thread-safe: one Sealer per worker. Each `seal` invalidates the last blob.
    """

    def __init__(self, master: MasterKey) -> None:
        self.master = master
        self._buffer = bytearray()

    def seal(self, plaintext: Buffer, call_id: str) -> Sealed:
        size = len(plaintext)
        if size > MAX_PLAINTEXT:
            raise RecordingTooLarge(
                f"{size} bytes is over the {MAX_PLAINTEXT}-byte limit of one blob"
            )
        total = BLOB_HEADER_BYTES + size + TAG_BYTES
        if len(self._buffer) < total:
            self._buffer = bytearray(total)
        out = memoryview(self._buffer)[:total]
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        header = _BLOB.pack(_BLOB_MAGIC, VERSION, SUITE_AES256GCM, 0, nonce)
        out[:BLOB_HEADER_BYTES] = header
        AESGCM(data_key).encrypt_into(
            nonce, plaintext, header + _BLOB_CONTEXT + _id(call_id), out[BLOB_HEADER_BYTES:]
        )
        return Sealed(blob=out, wrapped_key=self.master.wrap(data_key, call_id))


def seal(plaintext: Buffer, call_id: str, master: MasterKey) -> Sealed:
    """Encrypt one recording into a buffer of its own (see Sealer for the reusing kind)."""
    return Sealer(master).seal(plaintext, call_id)


def unseal(
    blob: Buffer, wrapped_key: bytes, call_id: str, keys: MasterKey | Iterable[MasterKey]
) -> bytes:
    """Decrypt a blob; IntegrityError if any byte, the call id or the key is wrong."""
    master = _pick(wrapped_key, keys)
    data_key = master.unwrap(wrapped_key, call_id)
    view = memoryview(blob).cast("B")
    if len(view) < BLOB_HEADER_BYTES + TAG_BYTES:
        raise IntegrityError("blob is too short to be a sealed recording")
    magic, version, suite, _reserved, nonce = _BLOB.unpack_from(view)
    if magic != _BLOB_MAGIC:
        raise IntegrityError("not a privline recording blob")
    if (version, suite) != (VERSION, SUITE_AES256GCM):
        raise IntegrityError(f"unknown blob format version {version} suite {suite}")
    header = bytes(view[:BLOB_HEADER_BYTES])
    try:
        return AESGCM(data_key).decrypt(
            nonce, view[BLOB_HEADER_BYTES:], header + _BLOB_CONTEXT + _id(call_id)
        )
    except InvalidTag:
        raise IntegrityError("recording blob does not authenticate for this call") from None


def rewrap(
    wrapped_key: bytes, call_id: str, keys: MasterKey | Iterable[MasterKey], new: MasterKey
) -> bytes:
    """Move a data key under a new master key (key rotation touches index rows only)."""
    return new.wrap(_pick(wrapped_key, keys).unwrap(wrapped_key, call_id), call_id)


def wrapped_key_id(wrapped_key: bytes) -> bytes:
    """The id of the master key that wrapped this data key."""
    _parse_wrapped(wrapped_key)
    return wrapped_key[6:14]


def _pick(wrapped_key: bytes, keys: MasterKey | Iterable[MasterKey]) -> MasterKey:
    wanted = wrapped_key_id(wrapped_key)
    for key in [keys] if isinstance(keys, MasterKey) else keys:
        if key.key_id == wanted:
            return key
    raise MasterKeyError(f"no master key with id {wanted.hex()} is loaded")


def _parse_wrapped(wrapped: bytes) -> tuple[bytes, bytes]:
    if len(wrapped) != WRAPPED_KEY_BYTES:
        raise IntegrityError(f"a wrapped key is {WRAPPED_KEY_BYTES} bytes, not {len(wrapped)}")
    magic, version, suite, _key_id, nonce = _WRAP.unpack_from(wrapped)
    if magic != _WRAP_MAGIC or (version, suite) != (VERSION, SUITE_AES256GCM):
        raise IntegrityError("not a privline wrapped key of a known version")
    return wrapped[: _WRAP.size], nonce


def _id(call_id: str) -> bytes:
    return call_id.encode("utf-8")


def _parse_key(content: bytes, path: Path) -> bytes:
    if len(content) == KEY_BYTES:
        return content
    text = content.strip()
    if len(text) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            return bytes.fromhex(text.decode("ascii"))
    padded = text + b"=" * (-len(text) % 4)
    for altchars in (b"+/", b"-_"):  # standard, then URL-safe alphabet
        try:
            key = base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(key) == KEY_BYTES:
            return key
    raise MasterKeyError(f"master key file {path} does not hold a 32-byte key (raw, hex or base64)")

