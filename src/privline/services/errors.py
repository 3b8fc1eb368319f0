"""Errors raised by services; the entrypoints turn them into responses in one place.

    ServiceError (code, http status)
    ├── InvalidInput      400  bad values from a user; nothing was written
    ├── Unauthenticated   401  no or unknown credentials
    ├── Forbidden         403  the actor's role may not do this
    ├── NotFound          404  no such thing, or not visible to this actor
    ├── Conflict          409  the change contradicts the current state
    ├── TooManyAttempts   429  failed sign-ins stop more tries for a while
    └── Unavailable       503  a backing store could not be reached; a retry may help
"""

from __future__ import annotations

from typing import Any


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
