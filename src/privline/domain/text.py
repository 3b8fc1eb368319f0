"""The one rule for free text a person types: reasons, names, credentials, notes.

Text that reaches the audit log stays there for good, so what it may hold is decided
once, here: printable characters only (no control characters, no line breaks), none of
Unicode's bidirectional controls (a right-to-left override makes a log line read other
than it is stored), and a length limit. Identifiers are a different matter: they are
ASCII letters and digits only (:func:`ascii_id`).
"""

from __future__ import annotations

import re

from privline.domain.errors import InvalidPin, InvalidText

MAX_TEXT = 500  # reasons, notes, names, credentials: one default for every field
MAX_ROW_ID = 2**63 - 1  # a database row id (a registry entry, a recording): BIGINT

# The explicit embeddings, overrides and isolates, and the implicit marks. isprintable()
# lets most of them through (they are "format" characters, not controls).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
_PIN = re.compile(r"[0-9]{4,12}")


def text_problem(value: str, *, limit: int = MAX_TEXT, required: bool = True) -> str | None:
    """Why ``value`` (already stripped) is not acceptable free text, or None if it is.

    The message is for a person filling in a form: short, no field name."""
    if not value:
        return "Give a value" if required else None
    if len(value) > limit:
        return f"At most {limit} characters"
    if not value.isprintable() or any(c in _BIDI for c in value):
        return "Use printable characters only (no control or direction marks)"
    return None


def free_text(field: str, value: str, *, limit: int = MAX_TEXT, required: bool = True,
              code: str | None = None) -> str:
    """``value`` stripped of surrounding space, or InvalidText naming ``field``."""
    value = value.strip()
    problem = text_problem(value, limit=limit, required=required)
    if problem is not None:
        raise InvalidText(field, problem, code=code)
    return value


def ascii_id(field: str, value: str, *, limit: int = 64) -> str:
    """An identifier (a facility, a resident): ASCII letters and digits, then also
    ``_`` and ``-``. Other scripts' letters and digits are refused: they look alike and
    cannot be typed on every keyboard or keypad."""
    if len(value) > limit or not value.isascii() or not _ID.fullmatch(value):
        raise InvalidText(field, f"use 1 to {limit} ASCII letters, digits, '_' or '-'")
    return value


def parse_pin(text: str) -> str:
    """A PIN as typed on a phone's keypad: 4 to 12 ASCII digits (a PIN set as "１２３４"
    could never be entered)."""
    if not _PIN.fullmatch(text):
        raise InvalidPin("PIN must be 4 to 12 digits 0-9")
    return text


def parse_whole(field: str, text: str, *, low: int = 0, high: int = MAX_ROW_ID) -> int:
    """A whole number as typed (an id, a count, a limit): ASCII digits only, within
    ``low``..``high`` (by default what a database BIGINT holds)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and low <= int(text) <= high):
        raise InvalidText(field, f"a whole number from {low} to {high}")
    return int(text)
