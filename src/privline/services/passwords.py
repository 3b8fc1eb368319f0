"""Password hashing (argon2id) and TOTP second factors (RFC 6238).

Both checks are pure computation; callers run the slow argon2 verify outside any
transaction so it never holds the database's write lock.
"""

from __future__ import annotations

from datetime import datetime

import argon2
import pyotp

# OWASP's argon2id floor (19 MiB, 2 passes, 1 lane), as for residents' PINs.
_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# A hash of no password: an unknown name costs the same time as a known one.
_NOBODY = _hasher.hash("privline: no such user")

ISSUER = "privline"
STEP_SECONDS = 30


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        matched = bool(_hasher.verify(password_hash or _NOBODY, password))
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
    return matched and password_hash is not None


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, RFC 4226's recommended length


def otpauth_uri(secret: str, user_name: str) -> str:
    """What an authenticator app reads (typed in or from a QR code the user makes)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user_name, issuer_name=ISSUER)


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is (now, or one step either side for clock
    drift), or None. The caller refuses a step already used."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // STEP_SECONDS
    for candidate in (step, step - 1, step + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None
