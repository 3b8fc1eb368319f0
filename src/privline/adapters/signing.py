"""Ed25519 keys for audit checkpoints and compliance statements.

The private key lives in a file of mode 0600 under PRIVLINE_HOME (or where
PRIVLINE_SIGNING_KEY_FILE points), never in the database: whoever can rewrite the
database still cannot forge a checkpoint. The public key is for anyone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privline.adapters.files import KeyFileError, create_private, read_private


def key_id(public: Ed25519PublicKey) -> str:
    return fingerprint(public).removeprefix("SHA256:")[:16]


def fingerprint(public: Ed25519PublicKey) -> str:
    """The key's full fingerprint: SHA-256 of its raw 32 bytes (key_id is its start)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


class Ed25519Signer:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def public_pem(self) -> str:
        return public_pem(self.public)

    @classmethod
    def load(cls, path: Path) -> Ed25519Signer:
        try:
            key = serialization.load_pem_private_key(read_private(path, "signing key"),
                                                     password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"signing key {path} cannot be read") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"signing key {path} is not an Ed25519 key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> Ed25519Signer:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        if not create_private(path, pem):
            return cls.load(path)
        return cls(key)


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_public(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeyFileError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("not an Ed25519 public key")
    return key


def verifies(public: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True
