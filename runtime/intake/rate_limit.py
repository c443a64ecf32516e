"""At most so many events per key in a sliding window (anonymous form submissions per client address).

Kept per process, like the sign-in throttle: the desk-wide limit is this one times the number of web
processes, which still bounds what one address can send.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 100_000  # keys remembered; beyond, the oldest half is forgotten rather than growing without end


class RateLimit:
    def __init__(self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._now = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """0 when one more event for ``key`` fits (and it is counted); else the seconds until one will."""
        now = self._now()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                if len(self._events) >= MAX_KEYS:
                    for old in list(self._events)[: MAX_KEYS // 2]:
                        del self._events[old]
                events = self._events[key] = deque()
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(1, int(events[0] + self.window - now + 0.999))
            events.append(now)
            return 0
