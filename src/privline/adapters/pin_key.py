"""The PIN key: the secret that PIN hashes are keyed with, in a file outside the database.

A PIN has four to twelve digits: hashed without a secret, a copy of the database gives
every PIN back in minutes, however slow the hash. Keyed with HMAC-SHA-256 under 32
random bytes the database never holds (a "pepper", NIST SP 800-63B 5.1.1.2), the stored
hashes are worthless without this file, and a check costs microseconds.

The file (mode 0600, ``PRIVLINE_HOME/keys/pin.key`` or where ``PRIVLINE_PIN_KEY_FILE``
points) holds one key per line, 64 hex digits each. The first line is the current key:
new hashes use it. Later lines are earlier keys, kept so that hashes made under them
still verify until their residents have entered their PIN once (which re-keys them).
Each stored hash names its key by id, a hash of the key, never the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Final

from privline.adapters.files import KeyFileError, create_private, read_private

KEY_BYTES: Final = 32
_KEY_ID_CONTEXT: Final = b"privline.pin-key-id.v1\x00"


def pin_key_id(secret: bytes) -> str:
    return hashlib.sha256(_KEY_ID_CONTEXT + secret).hexdigest()[:16]


class PinKeyring:
    """The PIN keys by id; their bytes never leave this object (repr shows ids only)."""

    __slots__ = ("_keys", "current_id")

    def __init__(self, secrets_newest_first: list[bytes]) -> None:
        if not secrets_newest_first:
            raise KeyFileError("a PIN key file needs at least one key")
        for secret in secrets_newest_first:
            if len(secret) != KEY_BYTES:
                raise KeyFileError(f"a PIN key is {KEY_BYTES} bytes, not {len(secret)}")
        self._keys = {pin_key_id(s): s for s in reversed(secrets_newest_first)}
        self.current_id = pin_key_id(secrets_newest_first[0])

    def __repr__(self) -> str:
        return f"PinKeyring(current={self.current_id}, keys={len(self._keys)})"

    def mac(self, key_id: str, message: bytes) -> bytes | None:
        """HMAC-SHA-256 of ``message`` under the key ``key_id``; None for an unknown id."""
        secret = self._keys.get(key_id)
        return None if secret is None else hmac.digest(secret, message, "sha256")

    @classmethod
    def generate(cls) -> PinKeyring:
        return cls([secrets.token_bytes(KEY_BYTES)])

    @classmethod
    def load(cls, path: Path) -> PinKeyring:
        """Read the key file; refuse one that group or others may use or another user owns."""
        content = read_private(path, "PIN key")
        keys = []
        for number, line in enumerate(content.decode("ascii", "replace").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                keys.append(bytes.fromhex(line))
            except ValueError:
                raise KeyFileError(f"PIN key {path} line {number} is not hex") from None
        if not keys:
            raise KeyFileError(f"PIN key {path} holds no key")
        return cls(keys)

    @classmethod
    def load_or_create(cls, path: Path) -> PinKeyring:
        secret = secrets.token_bytes(KEY_BYTES)
        if not create_private(path, secret.hex().encode("ascii") + b"\n"):
            return cls.load(path)  # there was one already (perhaps just made by another)
        return cls([secret])
