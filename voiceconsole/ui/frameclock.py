"""The console's frame clock: one callback at a steady rate that an early frame can re-phase.

The console draws a frame at every tick (meters, "now", heard words) and also as soon as events
arrive, so a turn event is on screen without waiting for the next tick. With a plain interval
timer those event frames come on top of the ticks: a burst right after a tick is followed by a
tick 50 ms later anyway, and the two frames show almost the same thing. :meth:`FrameClock.drawn`
moves the next tick to one period after the frame just drawn instead, so events never wait, the
meters never go longer than one period without a frame, and the rate never goes above
``hz`` frames a second.

The clock schedules its calls on the running asyncio loop (``call_at``), in the context it was
started in, so the callback sees the same context variables (Textual's active app) wherever
:meth:`drawn` is called from.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable


class FrameClock:
    """Calls ``callback`` ``hz`` times a second on the loop it is started on."""

    def __init__(self, callback: Callable[[], object], hz: float, on_error: Callable[[Exception], object]) -> None:
        self._callback = callback
        self._on_error = on_error
        self._period = 1.0 / hz
        self._hz = hz
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    @property
    def hz(self) -> float:
        """Ticks a second."""
        return self._hz

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._handle is not None

    def start(self) -> None:
        """Tick from one period from now on (call it on the loop, in the callback's context)."""
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()
        self._schedule(self._loop.time() + self._period)

    def stop(self) -> None:
        """No more ticks."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def set_rate(self, hz: float) -> None:
        """Tick ``hz`` times a second; the next tick comes at most one new period from now."""
        if hz == self._hz:
            return
        self._hz = hz
        self._period = 1.0 / hz
        if self._handle is not None and self._loop is not None:
            self._schedule(min(self._due, self._loop.time() + self._period))

    def drawn(self) -> None:
        """A frame was just drawn outside a tick: the next tick comes one period after it."""
        if self._handle is not None and self._loop is not None:
            self._schedule(self._loop.time() + self._period)

    def _schedule(self, due: float) -> None:
        assert self._loop is not None
        if self._handle is not None:
            self._handle.cancel()
        self._due = due
        self._handle = self._loop.call_at(due, self._run, context=self._context)

    def _run(self) -> None:
        assert self._loop is not None
        # The next tick is due one period after this one was; a late tick (a busy loop) does not
        # bunch up the ones after it.
        now = self._loop.time()
        due = self._due + self._period
        self._schedule(due if due > now else now + self._period)
        try:
            self._callback()
        except Exception as exc:  # reported by the owner (the app shows it); ticking goes on
            self._on_error(exc)


__all__ = ["FrameClock"]
