"""A one-line progress bar on stderr, redrawn at most a few times a second: for a terminal, or when asked."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
EVERY = 0.2  # seconds between redraws


class Progress:
    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._drawn = 0.0

    def show(self, share: float, count: int, noun: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < EVERY:
            return
        self._drawn = now
        share = min(max(share, 0.0), 1.0)
        filled = round(share * WIDTH)
        rate = count / max(now - self.started, 1e-9)
        self.stream.write(f"\r{self.label} {share:4.0%} |{'█' * filled}{' ' * (WIDTH - filled)}| "
                          f"{count:,} {noun}, {rate:,.0f}/s ")
        self.stream.flush()

    def done(self, count: int, noun: str) -> None:
        self.show(1.0, count, noun, force=True)
        self.stream.write("\n")
        self.stream.flush()
