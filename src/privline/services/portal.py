"""The professionals' portal: self-registration, its reference, status, and staff review.

A registration names a profession, a credential, one or more numbers and an email. A
number whose credential matches a verified imported directory entry for that same number
(same profession) is verified at once; every other number waits for staff as a pending
entry with source ``self_registered``. The registrant gets a reference, shown once and
stored only as a hash, that reveals the status of each of their numbers and nothing else.

Staff review the pending entries (from the portal and from residents' private-call
requests) oldest first, and confirm lapsed verifications; each decision goes through
:func:`privline.services.registry.change_status`, which writes its audit event.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from privline.domain.access import Action
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor, AuditEvent
from privline.domain.numbers import to_e164
from privline.domain.registry import Entry, Kind, Source, Status
from privline.domain.text import text_problem
from privline.services import registry
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, Unavailable
from privline.services.ports import NewEntry, RegistryUnavailable, UnitOfWork, UnitOfWorkFactory

# Who the audit log names for what the public portal does on a registrant's behalf.
PORTAL_ACTOR = "public:portal"

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


@dataclass(frozen=True)
class QueueItem:
    entry: Entry
    email: str | None  # the registrant's, for entries that came through the portal


@dataclass(frozen=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    more: bool


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
        _audit(uow, now, "portal.register", f"registration:{registration_id}",
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
    same = [e for e in entries if e.kind is kind and credential_key(e.credential) == key]
    directory = next((e for e in same if e.source is Source.IMPORT
                      and e.status is Status.VERIFIED), None)
    matched = directory.id if directory is not None else None
    own = next((e for e in same if e.source is not Source.IMPORT
                and e.status in (Status.PENDING, Status.VERIFIED)), None)
    if own is not None:
        # Registered before (or entered by staff): link to it rather than queue a twin.
        status = own.status
        if status is Status.PENDING and directory is not None:
            status = Status.VERIFIED
            uow.registry.set_status(own.id, status, now, f"directory entry {matched}",
                                    valid_until=now + registry.DEFAULT_VALIDITY)
            _audit(uow, now, "registry.verify", f"registry:{own.id}", number=number,
                   previous=Status.PENDING.value, note=f"directory entry {matched}",
                   registration=registration_id)
        uow.portal.link_number(registration_id, number, own.id, matched)
        return NumberStatus(number, status)
    status = Status.VERIFIED if directory is not None else Status.PENDING
    until = now + registry.DEFAULT_VALIDITY if directory is not None else None
    entry = uow.registry.add(NewEntry(number, kind, name, credential, Source.SELF_REGISTERED,
                                      status, now, until), now)
    _audit(uow, now, "registry.add", f"registry:{entry.id}", number=number, kind=kind.value,
           status=status.value, source=Source.SELF_REGISTERED.value, credential=credential,
           registration=registration_id, directory_entry=matched)
    uow.portal.link_number(registration_id, number, entry.id, matched)
    return NumberStatus(number, status)


def _audit(uow: UnitOfWork, now: datetime, action: str, subject: str, **details: object
           ) -> None:
    # No email or name here: the audit log is kept for years and cannot be edited.
    uow.audit.append(AuditEvent(now, PORTAL_ACTOR, action, subject, dict(details)))


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


# --- Staff review ---------------------------------------------------------------------


def review_queue(uow_factory: UnitOfWorkFactory, actor: Actor, *, limit: int = 100,
                 offset: int = 0) -> QueuePage:
    """Pending entries, oldest first, with the registrant's email where there is one."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    if not (1 <= limit <= 500 and offset >= 0):
        raise InvalidInput("limit must be 1..500 and offset >= 0", code="invalid_page")
    with uow_factory() as uow:
        entries = list(uow.registry.list(Status.PENDING, limit + 1, offset))
        shown = entries[:limit]
        emails = uow.portal.emails_for([e.id for e in shown])
    return QueuePage(tuple(QueueItem(e, emails.get(e.id)) for e in shown),
                     len(entries) > limit)


def expiring(uow_factory: UnitOfWorkFactory, actor: Actor, *, within: timedelta,
             now: datetime) -> tuple[QueueItem, ...]:
    """Verified entries whose validity ends within ``within`` (or has ended): renewals."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    if not timedelta(days=1) <= within <= timedelta(days=366):
        raise InvalidInput("look ahead 1 to 366 days", code="invalid_window")
    entries = registry.expiring(uow_factory, actor, within=within, now=now)
    with uow_factory() as uow:
        emails = uow.portal.emails_for([e.id for e in entries])
    return tuple(QueueItem(e, emails.get(e.id)) for e in entries)


def approve(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int, *, kind: str,
            note: str = "", now: datetime) -> Entry:
    """Verify a pending entry as ``kind``; refused when it is no longer pending."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    errors: dict[str, str] = {}
    if kind not in {k.value for k in PROFESSIONS}:
        errors["kind"] = "Choose the profession before approving"
    note = _field(errors, "note", note, limit=_MAX_NOTE)
    if errors:
        raise InvalidInput("the approval has errors", code="invalid_review", fields=errors)
    return registry.change_status(uow_factory, actor, entry_id, Status.VERIFIED, now=now,
                                  note=note or "approved in portal review", kind=kind,
                                  guard=_still(Status.PENDING))


def reject(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int, *, reason: str,
           now: datetime) -> Entry:
    """Revoke a pending entry; the reason is required and audited."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    errors: dict[str, str] = {}
    reason = _field(errors, "reason", reason, limit=_MAX_NOTE, missing="Give a reason")
    if errors:
        raise InvalidInput("the rejection has errors", code="invalid_review", fields=errors)
    return registry.change_status(uow_factory, actor, entry_id, Status.REVOKED, now=now,
                                  note=reason, guard=_still(Status.PENDING))


def confirm_expiry(uow_factory: UnitOfWorkFactory, actor: Actor, entry_id: int, *,
                   note: str = "", now: datetime) -> Entry:
    """Mark a lapsed verification expired: only now does it stop protecting the number."""
    check_allowed(actor, Action.REGISTRY_WRITE)
    errors: dict[str, str] = {}
    note = _field(errors, "note", note, limit=_MAX_NOTE)
    if errors:
        raise InvalidInput("the confirmation has errors", code="invalid_review", fields=errors)

    def lapsed(entry: Entry) -> None:
        _still(Status.VERIFIED)(entry)
        if entry.valid_until is None or entry.valid_until > now:
            raise Conflict(f"entry {entry.id} is verified until "
                           f"{entry.valid_until:%Y-%m-%d}; it has not lapsed" if entry.valid_until
                           else f"entry {entry.id} has no end date", code="not_lapsed")

    return registry.change_status(uow_factory, actor, entry_id, Status.EXPIRED, now=now,
                                  note=note or "expiry confirmed in portal review",
                                  guard=lapsed)


def _still(expected: Status) -> registry.Guard:
    def guard(entry: Entry) -> None:
        if entry.status is not expected:
            raise Conflict(f"entry {entry.id} is {entry.status.value} now; it was reviewed "
                           "already", code="already_reviewed", status=entry.status.value)
    return guard
