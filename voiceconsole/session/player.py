"""Playing recorded events back on their original timing, faster, stepwise, paused or seeking.

The :class:`Player` is the transport behind ``voiceconsole replay``: the headless replay prints
what it delivers, the UI feeds it to the console. Event times are the recorded session clock
``t``; at speed ``s`` an event recorded at ``t`` is delivered ``t / s`` wall seconds after the
start (speed 0: as fast as possible, on a virtual clock, so the output is deterministic).
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence

from voiceconsole.events import Event


class Player:
    """Delivers ``events`` in order to ``deliver`` with their recorded timing.

    ``seek`` and ``restart`` call ``on_reset()`` first, then deliver every event before the
    target at once, so a consumer that rebuilds its state from events stays correct.
    """

    def __init__(
        self,
        events: Sequence[Event],
        deliver: Callable[[Event], None],
        *,
        speed: float = 1.0,
        on_reset: Callable[[], None] | None = None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or positive")
        self.events = list(events)
        self.deliver = deliver
        self.on_reset = on_reset
        self.speed = speed
        self.position = 0
        """Index of the next event to deliver."""
        self.paused = False
        self._wall = wall
        self._anchor_wall = wall()
        self._anchor_t = self.events[0].t if self.events else 0.0
        self._wake = asyncio.Event()

    # --- state ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Every event has been delivered."""
        return self.position >= len(self.events)

    @property
    def duration(self) -> float:
        """Session time of the last event."""
        return self.events[-1].t if self.events else 0.0

    @property
    def current_t(self) -> float:
        """Session time of the playhead (the last delivered event, or the time reached while waiting)."""
        if self.paused:
            return self._anchor_t
        if self.speed == 0 or self.done:
            return self.events[self.position - 1].t if self.position else 0.0
        t = self._anchor_t + (self._wall() - self._anchor_wall) * self.speed
        upper = self.events[self.position].t
        return min(t, upper)

    # --- commands ---------------------------------------------------------------------------

    def pause(self) -> None:
        """Stop delivering until :meth:`resume`."""
        if not self.paused:
            self._anchor_t = self.current_t
            self.paused = True
            self._poke()

    def resume(self) -> None:
        """Go on from where the playhead is."""
        if self.paused:
            self.paused = False
            self._reanchor(self._anchor_t)

    def toggle(self) -> None:
        """Pause or resume."""
        if self.paused:
            self.resume()
        else:
            self.pause()

    def set_speed(self, speed: float) -> None:
        """Change the speed (0: as fast as possible) without jumping."""
        if speed < 0:
            raise ValueError("speed must be 0 or positive")
        here = self.current_t
        self.speed = speed
        self._reanchor(here)

    def step(self) -> Event | None:
        """Deliver the next event now (pausing playback); ``None`` at the end."""
        if not self.paused:
            self.pause()
        if self.done:
            return None
        event = self.events[self.position]
        self.position += 1
        self._anchor_t = event.t
        self.deliver(event)
        return event

    def seek(self, t: float) -> None:
        """Move the playhead to session time ``t``: reset, then deliver every event before it."""
        t = max(0.0, min(t, self.duration))
        target = bisect_left([e.t for e in self.events], t)
        if target < self.position:
            if self.on_reset is not None:
                self.on_reset()
            self.position = 0
        while self.position < target:
            self.deliver(self.events[self.position])
            self.position += 1
        self._reanchor(t)

    def _reanchor(self, t: float) -> None:
        self._anchor_t = t
        self._anchor_wall = self._wall()
        self._poke()

    def _poke(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver events until the end, honouring speed, pauses and seeks."""
        while not self.done:
            if self.paused:
                await self._wake.wait()
                continue
            event = self.events[self.position]
            if self.speed > 0:
                due = self._anchor_wall + (event.t - self._anchor_t) / self.speed
                delay = due - self._wall()
                if delay > 0:
                    wake = self._wake
                    try:
                        await asyncio.wait_for(wake.wait(), timeout=delay)
                    except asyncio.TimeoutError:
                        pass
                    continue  # re-check: the delay passed, or pause/seek/speed changed
            self.position += 1
            self.deliver(event)
            if self.speed == 0 and self.position % 200 == 0:
                await asyncio.sleep(0)  # let a UI breathe during a fast replay
