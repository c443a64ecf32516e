"""Slows down password guessing: too many failed sign-ins for one login, or from one address, are refused for
a while. Kept per process, which bounds guessing to this rate times the number of web processes."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW = 15 * 60.0  # seconds
PER_LOGIN = 5  # failures in the window before a login is locked
PER_ADDRESS = 50  # failures in the window before an address is locked (many logins tried from one place)
MAX_KEYS = 100_000  # keys remembered; beyond, the oldest half is forgotten rather than growing without end


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._now = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, login: str, address: str) -> int:
        """Seconds until this login may be tried again from this address; 0 when it may be tried now."""
        now = self._now()
        with self._lock:
            waits = [self._wait(f"l:{login.strip().lower()}", PER_LOGIN, now),
                     self._wait(f"a:{address}", PER_ADDRESS, now)]
        return max(waits)

    def failed(self, login: str, address: str) -> None:
        now = self._now()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                for key in list(self._failures)[: MAX_KEYS // 2]:
                    del self._failures[key]
            for key in (f"l:{login.strip().lower()}", f"a:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, login: str) -> None:
        with self._lock:
            self._failures.pop(f"l:{login.strip().lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if len(times) < limit:
            return 0
        return max(1, int(times[-limit] + WINDOW - now + 0.999))
