"""Faults injected into a real unit of work."""

from __future__ import annotations

from privline.services.ports import UnitOfWork
from privline.services.ports.registry import RegistryUnavailable


class RegistryDown:
    """Wraps a real unit of work so every registry read fails, as when its store is down."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __enter__(self) -> UnitOfWork:
        uow = self._inner.__enter__()

        def fail(number: str) -> list[object]:
            raise RegistryUnavailable("registry store down")

        uow.registry.entries_for = fail  # type: ignore[method-assign, assignment]
        return uow

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)  # type: ignore[arg-type]
