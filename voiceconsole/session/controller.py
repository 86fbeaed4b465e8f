"""What a user interface calls on a running session: the :class:`Controller` protocol.

Both :class:`~voiceconsole.session.session.Session` (on the caller's own event loop) and
:class:`~voiceconsole.session.threaded.SessionThread` (the session on a thread of its own, as the
console runs it) satisfy it, and so may a replay or a scripted stand-in. A UI holds a
``Controller`` and calls these members only: no probing for optional attributes.

Core code: no textual import.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol, runtime_checkable

from voiceconsole.engines.base import TurnSettings
from voiceconsole.events import Event

Listener = Callable[[Event], None]


@runtime_checkable
class ClockReader(Protocol):
    """The session clock, as a UI reads it."""

    def now(self) -> float:
        """Seconds on the session clock (monotonic; virtual in fast runs and replays)."""
        ...


@runtime_checkable
class BargeInOptions(Protocol):
    """The session options a UI may change while the session runs."""

    auto_barge_in: bool
    """Interrupt the reply when the user starts a turn while it plays (a UI toggles this)."""


@runtime_checkable
class MeterSlotReader(Protocol):
    """One level meter (mic or speaker), written by the audio side and polled by the UI."""

    clips: int
    """Blocks that reached full scale since the session started."""

    def take_levels(self) -> tuple[float, float]:
        """(RMS, peak) in dBFS: the loudest since the previous call, so a slow reader misses no peak."""
        ...


@runtime_checkable
class Meters(Protocol):
    """The session's two level meters."""

    @property
    def mic(self) -> MeterSlotReader:
        """The mic audio as handed to the STT engine."""
        ...

    @property
    def speaker(self) -> MeterSlotReader:
        """The reply audio as played."""
        ...


@runtime_checkable
class EventSource(Protocol):
    """Where a UI subscribes to the session's events."""

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on (on the caller's event loop)."""
        ...

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        ...


@runtime_checkable
class BatchedEventSource(EventSource, Protocol):
    """An event source that can hold events of some types back until the consumer asks
    (a session on its own thread: a UI that draws levels at its next frame anyway need not be
    woken for each one)."""

    def deliver_lazily(self, types: Collection[type[Event]]) -> None:
        """Events of ``types`` wake nobody: they wait, in order, for :meth:`drain` or for the
        next event of another type."""
        ...

    def drain(self) -> None:
        """Deliver every waiting event now (call on the consumer's loop, e.g. before each frame)."""
        ...


@runtime_checkable
class Controller(Protocol):
    """What a UI calls on a session.

    Commands may be called from the UI's loop whether or not the session runs on it; a
    session on another thread runs them on its own loop, in the order given.
    """

    def interrupt(self, reason: str) -> None:
        """Barge in: silence the reply now and cancel every queued reply (``reason``: "key", "auto")."""
        ...

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the mic (a muted mic streams silence, so turns can still end)."""
        ...

    def say(self, text: str) -> int | None:
        """Queue ``text`` for the bot to speak. The reply number where known at once (a session
        on the caller's loop), else None (blank text, or a session on another thread: the number
        arrives with the ``tts.queued`` event)."""
        ...

    def update_turn_settings(self, settings: TurnSettings) -> None:
        """Retune turn detection while the session runs (raises ``ValueError`` for bad values)."""
        ...

    def request_stop(self, reason: str) -> None:
        """Ask the session to stop; :meth:`run` then closes the engines and returns."""
        ...

    async def run(self) -> None:
        """Run the session until it stops; re-raises its error (a ``UserError`` for bad input)."""
        ...

    @property
    def muted(self) -> bool:
        """Whether the mic is muted."""
        ...

    @property
    def running(self) -> bool:
        """Whether the session is running (engines started, not yet stopped)."""
        ...

    @property
    def clock(self) -> ClockReader:
        """The session clock: the time base of every event's ``t``."""
        ...

    @property
    def options(self) -> BargeInOptions:
        """The options a UI may change while the session runs."""
        ...

    @property
    def meters(self) -> Meters:
        """The mic and speaker level meters, for the UI to poll at its frame rate."""
        ...

    @property
    def bus(self) -> EventSource:
        """The session's events (a :class:`BatchedEventSource` when the session has its own thread)."""
        ...


__all__ = [
    "BargeInOptions",
    "BatchedEventSource",
    "ClockReader",
    "Controller",
    "EventSource",
    "Listener",
    "MeterSlotReader",
    "Meters",
]
