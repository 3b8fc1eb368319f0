"""Errors raised by the pure domain.

    DomainError
    ├── InvalidNumber        a dial string that is not a valid phone number
    ├── InvalidValue         a value outside its allowed set (kind, status, rate...)
    │   ├── InvalidText      free text or an id that breaks the one rule (domain.text)
    │   ├── InvalidAmount    money that is not ASCII dollars and cents within the bound
    │   └── InvalidPin       a PIN a keypad cannot enter
    └── NoRateCap            no FCC cap table covers the facility on that date
"""


class DomainError(Exception):
    """Base of every domain error; `code` is stable and safe to show a user."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidNumber(DomainError):
    code = "invalid_number"


class InvalidValue(DomainError):
    code = "invalid_value"


class InvalidText(InvalidValue):
    """Free text that breaks the rule; ``field`` names what was typed, and the code is
    ``invalid_<field>`` unless the caller keeps an older one."""

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.code = code or "invalid_" + field.replace(" ", "_")
        self.field = field


class InvalidAmount(InvalidValue):
    code = "invalid_amount"


class InvalidPin(InvalidValue):
    code = "invalid_pin"


class NoRateCap(DomainError):
    code = "no_rate_cap"
