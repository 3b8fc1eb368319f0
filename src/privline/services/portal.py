"""The professionals' portal, public side: self-registration, its reference, status.

A registration names a profession, a credential, one or more numbers and an email. Each
number gets an entry of its own with source ``self_registered``: a registration never
takes over, or changes the contact details of, an entry another registration (or staff)
made; two registrations for one number compete, and staff see them side by side
(services/portal_review.py). A number whose credential matches a verified imported
directory entry for that same number (same profession) is verified at once; every other
number waits for staff. The registrant gets a reference, shown once and stored only as a
hash, that reveals the status of each of their numbers and nothing else.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from privline.domain.access import Role
from privline.domain.audit_events import AuditAction
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.registry import Entry, Kind, Source, Status
from privline.domain.text import text_problem
from privline.services import audit, protection
from privline.services.errors import InvalidInput, NotFound, Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.registry import NewEntry, RegistryUnavailable

# Who the audit log names for what the public portal does on a registrant's behalf.
PORTAL_ACTOR = "public:portal"
# The same, for the quarantine a directory match triggers (it audits as role:name).
_PORTAL = Actor("portal", Role.STAFF)

PROFESSIONS: tuple[Kind, ...] = (Kind.ATTORNEY, Kind.PHYSICIAN, Kind.MENTAL_HEALTH,
                                 Kind.RELIGIOUS_ADVISER, Kind.LEGAL_ADVOCATE)
MAX_NUMBERS = 10
_MAX_TEXT = 200
_MAX_NOTE = 500
_MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")

# Crockford's base32: no I, L, O or U, so a reference read aloud or copied by hand
# survives. 16 symbols carry 80 random bits.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE_SYMBOLS = 16
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class RegistrationForm:
    """What a registrant submitted, as typed."""

    name: str
    profession: str
    credential: str
    numbers: Sequence[str]  # as typed, blanks included: errors point at positions
    email: str


@dataclass(frozen=True)
class NumberStatus:
    number: str
    status: Status


@dataclass(frozen=True)
class Registered:
    reference: str
    numbers: tuple[NumberStatus, ...]


# --- Registration ---------------------------------------------------------------------


def register(uow_factory: UnitOfWorkFactory, form: RegistrationForm, *, now: datetime
             ) -> Registered:
    """Store a registration and an entry per number; nothing is written on bad input.

    Raises InvalidInput with ``fields`` mapping each bad field (``numbers.<i>`` for the
    i-th number as submitted) to a message.
    """
    name, kind, credential, numbers, email = _validate(form)
    reference = _new_reference()
    with uow_factory() as uow:
        registration_id = uow.portal.add_registration(
            reference_hash(reference), name, kind, credential, email, now)
        placed = tuple(_place(uow, registration_id, number, kind, name, credential, now)
                       for number in numbers)
        _audit(uow, now, AuditAction.PORTAL_REGISTER, f"registration:{registration_id}",
               profession=kind.value, credential=credential,
               numbers=[{"number": p.number, "status": p.status.value} for p in placed])
        uow.commit()
    return Registered(reference, placed)


def _place(uow: UnitOfWork, registration_id: int, number: str, kind: Kind, name: str,
           credential: str, now: datetime) -> NumberStatus:
    try:
        entries = uow.registry.entries_for(number)
    except RegistryUnavailable as exc:
        raise Unavailable("the registry cannot be read", code="registry_unavailable") from exc
    key = credential_key(credential)
    directory = next((e for e in entries if e.kind is kind and e.source is Source.IMPORT
                      and e.status is Status.VERIFIED
                      and credential_key(e.credential) == key), None)
    matched = directory.id if directory is not None else None
    status = Status.VERIFIED if directory is not None else Status.PENDING
    until = now + protection.DEFAULT_VALIDITY if directory is not None else None
    rivals = [e.id for e in entries if e.source is not Source.IMPORT
              and e.status in (Status.PENDING, Status.VERIFIED)]

    def announce(made: list[Entry]) -> None:
        _audit(uow, now, AuditAction.REGISTRY_ADD, f"registry:{made[0].id}", number=number,
               kind=kind.value, status=status.value, source=Source.SELF_REGISTERED.value,
               credential=credential, registration=registration_id,
               directory_entry=matched, competes_with=rivals)

    [entry] = protection.apply(uow, _PORTAL, now=now, announce=announce, add=[NewEntry(
        number, kind, name, credential, Source.SELF_REGISTERED, status, now, until)])
    uow.portal.link_number(registration_id, number, entry.id, matched)
    return NumberStatus(number, status)


def _audit(uow: UnitOfWork, now: datetime, action: AuditAction, subject: str,
           **details: object) -> None:
    # No email or name here: the audit log is kept for years and cannot be edited.
    audit.record_outsider(uow, PORTAL_ACTOR, action, subject, now, **details)


def _validate(form: RegistrationForm) -> tuple[str, Kind, str, list[str], str]:
    errors: dict[str, str] = {}
    name = _field(errors, "name", form.name, limit=_MAX_TEXT, missing="Give your name")
    credential = _field(errors, "credential", form.credential, limit=_MAX_TEXT,
                        missing="Give your bar number, NPI or other credential")
    kind = None
    try:
        kind = Kind(form.profession)
    except ValueError:
        pass
    if kind not in PROFESSIONS:
        errors["profession"] = "Choose your profession"
    numbers: list[str] = []
    given = [(i, raw.strip()) for i, raw in enumerate(form.numbers) if raw.strip()]
    if not given:
        errors["numbers.0"] = "Give at least one phone number"
    elif len(given) > MAX_NUMBERS:
        errors["numbers"] = f"Give at most {MAX_NUMBERS} numbers"
    for i, raw in given[:MAX_NUMBERS]:
        try:
            number = to_e164(raw)
        except InvalidNumber:
            errors[f"numbers.{i}"] = "Not a valid phone number (include the area code)"
            continue
        if number in numbers:
            errors[f"numbers.{i}"] = "This number is given twice"
        else:
            numbers.append(number)
    email = form.email.strip()
    if not email:
        errors["email"] = "Give an email address"
    elif (len(email) > _MAX_EMAIL or not _EMAIL.match(email)
          or text_problem(email, limit=_MAX_EMAIL) is not None):
        errors["email"] = "Not a valid email address"
    if errors or kind is None:
        raise InvalidInput("the registration has errors", code="invalid_registration",
                           fields=errors)
    return name, kind, credential, numbers, email


def _field(errors: dict[str, str], field: str, value: str, *, limit: int,
           missing: str | None = None) -> str:
    """The one free-text rule (domain.text) as a form's field message; ``missing`` is
    what to say when a required field is empty (None: the field is optional)."""
    value = value.strip()
    problem = text_problem(value, limit=limit, required=missing is not None)
    if problem is not None:
        errors[field] = missing if missing is not None and not value else problem
    return value


def credential_key(credential: str) -> str:
    """A credential as compared: case, spaces and separators do not count.

    ``NPI 1234567893`` and ``1234567893`` are one NPI; ``ny-1234567``, ``NY 1234567``
    and the bar import's ``NY:1234567`` are one state registration.
    """
    text = re.sub(r"[\s.\-_:/#]+", "", credential.upper())
    if text.startswith("NPI") and text[3:].isdigit():
        text = text[3:]
    state = re.fullmatch(r"([A-Z]{2})([0-9][0-9A-Z]*)", text)
    return f"{state[1]}:{state[2]}" if state else text


# --- References and status ------------------------------------------------------------


def _new_reference() -> str:
    symbols = "".join(secrets.choice(_ALPHABET) for _ in range(_REFERENCE_SYMBOLS))
    return "PL-" + "-".join(symbols[i:i + 4] for i in range(0, _REFERENCE_SYMBOLS, 4))


def _canonical_reference(reference: str) -> str | None:
    text = re.sub(r"[\s\-]+", "", reference.upper())
    text = text.removeprefix("PL").translate(_CONFUSABLE)
    if len(text) != _REFERENCE_SYMBOLS or any(c not in _ALPHABET for c in text):
        return None
    return text


def reference_hash(reference: str) -> str:
    canonical = _canonical_reference(reference)
    if canonical is None:
        raise ValueError("not a portal reference")
    return hashlib.sha256(f"privline-portal:{canonical}".encode("ascii")).hexdigest()


def status(uow_factory: UnitOfWorkFactory, reference: str) -> tuple[NumberStatus, ...]:
    """The status of each number a registration named; NotFound for any unknown reference."""
    if len(reference) > 64 or _canonical_reference(reference) is None:
        raise NotFound("no registration has that reference", code="reference_not_found")
    with uow_factory() as uow:
        found = uow.portal.numbers_for_reference(reference_hash(reference))
    if found is None:
        raise NotFound("no registration has that reference", code="reference_not_found")
    return tuple(NumberStatus(n.number, n.status) for n in found)
