"""Dial strings become one E.164 string, or a typed error: never a guess."""

import pytest

from privline.domain.errors import InvalidNumber
from privline.domain.numbers import DialPlan, is_e164, to_e164

US_WITH_9 = DialPlan(region="US", outside_prefix="9")


@pytest.mark.parametrize("dialled", [
    "(415) 555-0142", "415.555.0142", "1-415-555-0142", "+1 415 555 0142",
    "tel:+1-415-555-0142", "9 1 415 555 0142", "9 (415) 555-0142", "4155550142",
    "tel:+14155550142;phone-context=example",
])
def test_every_us_spelling_gives_the_same_e164(dialled: str) -> None:
    assert to_e164(dialled, US_WITH_9) == "+14155550142"


def test_international_prefix_dials_abroad() -> None:
    assert to_e164("011 52 55 1234 5678") == "+525512345678"
    assert to_e164("9 011 52 55 1234 5678", US_WITH_9) == "+525512345678"


def test_outside_prefix_not_stripped_from_a_number_that_starts_with_9() -> None:
    # 917 is a New York area code: without the prefix rule this must still be NYC.
    assert to_e164("917 555 0142", US_WITH_9) == "+19175550142"


def test_region_decides_national_numbers() -> None:
    assert to_e164("55 1234 5678", DialPlan(region="MX")) == "+525512345678"


@pytest.mark.parametrize("dialled", [
    "", " ", "abc", "123", "+999", "415-555-01", "4155550142x", "9", "+1 415 555 0142 9999",
    "1" * 70, "sip:4155550142@host", "415\n5550142",
])
def test_unparseable_or_invalid_input_is_a_typed_error(dialled: str) -> None:
    with pytest.raises(InvalidNumber):
        to_e164(dialled, US_WITH_9)


def test_is_e164() -> None:
    assert is_e164("+14155550142")
    assert not is_e164("4155550142")
    assert not is_e164("+1 415 555 0142")
