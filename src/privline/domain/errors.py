"""Errors raised by the pure domain.

    DomainError
    ├── InvalidNumber        a dial string that is not a valid phone number
    ├── InvalidValue         a value outside its allowed set (kind, status, rate...)
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


class NoRateCap(DomainError):
    code = "no_rate_cap"
