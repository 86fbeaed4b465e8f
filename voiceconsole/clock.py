"""Session clocks: real time for live runs, virtual time for deterministic file and replay runs."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Seconds since the session started, monotonic."""

    virtual: bool

    def now(self) -> float:
        """Current session time in seconds."""
        ...

    async def sleep_until(self, t: float) -> None:
        """Return once ``now() >= t``."""
        ...


class RealClock:
    """Monotonic wall time, zero when created."""

    virtual = False

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._origin

    async def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)


class VirtualClock:
    """Time that moves only when the driver advances it, so runs are repeatable.

    Coroutines sleeping on it wake when :meth:`advance_to` passes their deadline.
    """

    virtual = True

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._changed = asyncio.Event()

    def now(self) -> float:
        return self._now

    def advance_to(self, t: float) -> None:
        """Move time forward to ``t`` (never backwards) and wake sleepers."""
        if t > self._now:
            self._now = t
            self._changed.set()
            self._changed = asyncio.Event()

    def advance(self, dt: float) -> None:
        """Move time forward by ``dt`` seconds."""
        self.advance_to(self._now + dt)

    async def sleep_until(self, t: float) -> None:
        while self._now < t:
            await self._changed.wait()
