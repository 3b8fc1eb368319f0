"""An audit entry's hashed bytes: written out field by field (domain/audit_chain.py) for
speed, they must stay exactly the canonical JSON of the six fields, or every chain
already stored would stop verifying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from privline.domain.audit_chain import GENESIS, canonical_json, chain_hash, entry_bytes
from privline.domain.audit_events import AuditAction


def _as_dict(seq: int, at: datetime, actor: str, action: str, subject: str,
             details: str) -> bytes:
    # The definition: the form every stored chain was hashed with.
    return canonical_json({"seq": seq, "at": at.isoformat(), "actor": actor,
                           "action": action, "subject": subject,
                           "details": details}).encode("utf-8")


# Strings JSON escapes, or that are not ASCII; no lone surrogates (not UTF-8 at all).
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_moments = st.datetimes(timezones=st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]))


@given(seq=st.integers(min_value=1, max_value=2**62), at=_moments, actor=_text,
       action=_text, subject=_text, details=_text)
def test_entry_bytes_are_the_canonical_json_of_the_entry(
        seq: int, at: datetime, actor: str, action: str, subject: str, details: str) -> None:
    assert entry_bytes(seq, at, actor, action, subject, details) == \
        _as_dict(seq, at, actor, action, subject, details)


def test_awkward_strings_and_a_named_action_hash_as_before() -> None:
    at = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
    details = canonical_json({"number": "+14155550142", "note": 'a "quote" \\ \n\t\x01 é 電話 🙂'})
    action = AuditAction.CALL_DECIDE  # a StrEnum, as the services pass it
    got = entry_bytes(7, at, 'staff:"o\'neil"\u2028', action, "call:1\x7f", details)
    assert got == _as_dict(7, at, 'staff:"o\'neil"\u2028', action, "call:1\x7f", details)
    assert b'"action":"call.decide"' in got
    assert chain_hash(GENESIS, got) == chain_hash(
        GENESIS, _as_dict(7, at, 'staff:"o\'neil"\u2028', "call.decide", "call:1\x7f", details))
