"""Dial strings to E.164.

A facility phone dials with the facility's conventions: an outside-line prefix (often
``9``), the national trunk prefix, or the international prefix (``011`` in the US).
Registry matching is by E.164 string only, so every spelling of a number must land on
the same string here or a privileged number could slip past the registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from privline.domain.errors import InvalidNumber

_VISUAL_SEPARATORS = re.compile(r"[ ().\-/]")
_ALLOWED = re.compile(r"^\+?[0-9]+$")
_MAX_DIAL_LENGTH = 64


@dataclass(frozen=True)
class DialPlan:
    """How a facility's phones dial out."""

    region: str = "US"
    outside_prefix: str | None = None
    international_prefix: str = "011"


@lru_cache(maxsize=4096)
def to_e164(dialled: str, plan: DialPlan = DialPlan()) -> str:
    """Return the E.164 form of ``dialled`` or raise :class:`InvalidNumber`.

    Never guesses: anything phonenumbers does not consider a valid number is refused.
    Remembered per (dial string, plan): phonenumbers' parse and validation took a
    third of a call decision's own CPU time, and the same numbers are dialled all day.
    (A refusal is not remembered; it is computed again.)
    """
    if len(dialled) > _MAX_DIAL_LENGTH:
        raise InvalidNumber("dialled number is too long")
    text = dialled.strip()
    if text.lower().startswith("tel:"):
        text = text[4:].split(";", 1)[0]
    digits = _VISUAL_SEPARATORS.sub("", text)
    if not digits or not _ALLOWED.match(digits):
        raise InvalidNumber(f"not a phone number: {dialled!r}")
    if not digits.startswith("+"):
        if plan.outside_prefix and digits.startswith(plan.outside_prefix):
            stripped = digits[len(plan.outside_prefix) :]
            # Only strip the outside-line prefix when what remains is still a number;
            # "9" alone or a local number starting with 9 must not be mangled.
            if _parses(stripped, plan):
                digits = stripped
        if plan.international_prefix and digits.startswith(plan.international_prefix):
            digits = "+" + digits[len(plan.international_prefix) :]
    try:
        parsed = phonenumbers.parse(digits, None if digits.startswith("+") else plan.region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number: {dialled!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"not a valid phone number: {dialled!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parses(digits: str, plan: DialPlan) -> bool:
    if plan.international_prefix and digits.startswith(plan.international_prefix):
        candidate, region = "+" + digits[len(plan.international_prefix) :], None
    else:
        candidate, region = digits, plan.region
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(candidate, region))
    except phonenumbers.NumberParseException:
        return False


def is_e164(value: str) -> bool:
    """True when ``value`` is already a valid number in canonical E.164 form."""
    try:
        return to_e164(value) == value
    except InvalidNumber:
        return False


def valid_region(region: str) -> bool:
    """True for a two-letter region phonenumbers knows (``US``, ``MX``...)."""
    return region in phonenumbers.SUPPORTED_REGIONS
