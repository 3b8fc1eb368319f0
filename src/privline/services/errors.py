"""Errors raised by services; the entrypoints turn them into responses in one place.

    ServiceError (code, http status)
    ├── InvalidInput      400  bad values from a user; nothing was written
    ├── Unauthenticated   401  no or unknown credentials
    ├── Forbidden         403  the actor's role may not do this
    ├── NotFound          404  no such thing, or not visible to this actor
    ├── Conflict          409  the change contradicts the current state
    ├── TooManyAttempts   429  failed sign-ins stop more tries for a while
    └── Unavailable       503  a backing store failed; ``retryable`` says whether trying
                               again can help (a lock or a dropped connection: yes; a
                               key file readable by others: no, a person must act)

Adapters raise these (never their driver's own errors), so each entrypoint maps
``ServiceError`` and ``DomainError`` once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from privline.domain.errors import DomainError

P = ParamSpec("P")
T = TypeVar("T")


class ServiceError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(ServiceError):
    code = "invalid_input"
    status = 400


class Unauthenticated(ServiceError):
    code = "unauthenticated"
    status = 401


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class TooManyAttempts(ServiceError):
    code = "too_many_attempts"
    status = 429


class Unavailable(ServiceError):
    code = "unavailable"
    status = 503

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = True,
                 **details: Any) -> None:
        super().__init__(message, code=code, **details)
        self.retryable = retryable

def checked(parse: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a domain parser on a user's value (free text, money, a PIN, an id): its
    DomainError becomes InvalidInput with the same code, as every service raises."""
    try:
        return parse(*args, **kwargs)
    except DomainError as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc
