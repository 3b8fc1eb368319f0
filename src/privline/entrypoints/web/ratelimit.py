"""How many registrations one client address and one browser session may make.

The public registration form is the one write anyone can make without a token: 50
submissions in a second once made 500 pending entries and 550 audit events. Counts are
kept per process (a few kilobytes), over a sliding window, from the runtime's clock so
tests can move time. Behind a balancer each worker counts on its own: the limit a client
meets is then at most the workers times this one, still far from a flood.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from threading import Lock

# Room for a practice registering its lawyers one by one, not for a script.
PER_ADDRESS = 10
PER_SESSION = 3
WINDOW = timedelta(minutes=10)
_MAX_KEYS = 10_000  # past this, keys with no hit left in the window are dropped


class SlidingWindow:
    """At most ``limit`` recorded hits per key within ``window``."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = Lock()

    def wait(self, key: str, now: datetime) -> timedelta | None:
        """None when ``key`` may go ahead; otherwise how long until it may."""
        with self._lock:
            hits = self._recent(key, now)
            if len(hits) < self.limit:
                return None
            return hits[0] + self.window - now

    def record(self, key: str, now: datetime) -> None:
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._hits) > _MAX_KEYS:
                for stale in [k for k, v in self._hits.items() if not v or
                              v[-1] <= now - self.window]:
                    del self._hits[stale]

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits


class RegistrationLimits:
    def __init__(self, per_address: int = PER_ADDRESS, per_session: int = PER_SESSION,
                 window: timedelta = WINDOW) -> None:
        self.address = SlidingWindow(per_address, window)
        self.session = SlidingWindow(per_session, window)

    def wait(self, address: str, session: str, now: datetime) -> timedelta | None:
        waits = [w for w in (self.address.wait(address, now), self.session.wait(session, now))
                 if w is not None]
        return max(waits, default=None)

    def record(self, address: str, session: str, now: datetime) -> None:
        self.address.record(address, now)
        self.session.record(session, now)
