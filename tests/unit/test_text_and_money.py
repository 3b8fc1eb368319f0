"""The one free-text rule and the one money parser: what a person may type."""

from __future__ import annotations

from decimal import Decimal

import pytest

from privline.domain.errors import InvalidAmount, InvalidText, InvalidValue
from privline.domain.money import MAX_CENTS, check_cents, parse_rate, parse_usd
from privline.domain.text import ascii_id, free_text, parse_pin

FULLWIDTH_1234 = "\uff11\uff12\uff13\uff14"
ARABIC_INDIC_12 = "\u0661\u0662"


@pytest.mark.parametrize("value", [
    "refund for a dropped call\u202e",  # right-to-left override: the log would read backwards
    "a\u2066b\u2069",  # isolates
    "line\nbreak", "tab\there", "nul\x00", "x" * 501,
])
def test_free_text_refuses_controls_bidi_marks_and_overlong_text(value: str) -> None:
    with pytest.raises(InvalidText) as info:
        free_text("reason", value)
    assert info.value.code == "invalid_reason"


def test_free_text_strips_and_keeps_ordinary_text_in_any_script() -> None:
    assert free_text("name", "  Ada Counsel-Ñúñez, Esq. 律师 ") == "Ada Counsel-Ñúñez, Esq. 律师"
    assert free_text("note", "   ", required=False) == ""


def test_free_text_required_field_and_kept_code() -> None:
    with pytest.raises(InvalidText) as info:
        free_text("legal basis", " ", code="legal_basis_required")
    assert info.value.code == "legal_basis_required"


@pytest.mark.parametrize("text,cents", [("12.50", 1250), ("$12.5", 1250), ("0", 0),
                                        ("7", 700), ("100000", MAX_CENTS)])
def test_parse_usd_reads_ascii_dollars_into_cents(text: str, cents: int) -> None:
    assert parse_usd(text) == cents


@pytest.mark.parametrize("text", [
    "1e999999999", "1E2", "-5", "+5", "12.505", "NaN", "Infinity", "", "$", "1,000",
    FULLWIDTH_1234, ARABIC_INDIC_12, "1" + "\u0660", "100000.01", "9" * 40,
])
def test_parse_usd_refuses_exponents_signs_non_ascii_digits_and_amounts_past_the_bound(
        text: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_usd(text)


def test_one_bound_for_cents_given_directly() -> None:
    assert check_cents(MAX_CENTS) == MAX_CENTS
    for bad in (-1, MAX_CENTS + 1, 2**63):
        with pytest.raises(InvalidAmount):
            check_cents(bad)


def test_parse_rate_ascii_only_and_bounded() -> None:
    assert parse_rate("0.06") == Decimal("0.06")
    for bad in ("0.0\uff16", "1e3", "10.01", "-0.1", "0.123456"):
        with pytest.raises(InvalidAmount):
            parse_rate(bad)


def test_a_pin_is_ascii_digits_a_keypad_can_enter() -> None:
    assert parse_pin("2468") == "2468"
    for bad in (FULLWIDTH_1234, "\u0661\u0662\u0663\u0664", "123", "1" * 13, "12a4", "²468"):
        with pytest.raises(InvalidValue) as info:
            parse_pin(bad)
        assert info.value.code == "invalid_pin"


def test_ids_are_ascii_letters_digits_dash_underscore() -> None:
    assert ascii_id("id", "state-prison_2") == "state-prison_2"
    for bad in ("R\uff11001", "R\u0661", "", "a b", "-x", "x" * 65, "Ｒ1"):
        with pytest.raises(InvalidText) as info:
            ascii_id("id", bad)
        assert info.value.code == "invalid_id"
