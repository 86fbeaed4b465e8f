"""Running a :class:`~voiceconsole.session.session.Session` on its own thread and event loop.

The console paints on its own event loop; a paint must not delay the capture -> STT path.
:class:`SessionThread` runs the session on a thread of its own with its own asyncio loop and
satisfies :class:`~voiceconsole.session.controller.Controller`, as the session itself does:

* commands (``interrupt``, ``set_muted``, ``say``, ``update_turn_settings``, ``request_stop``)
  may be called from any thread; they run on the session's loop (``call_soon_threadsafe``);
* ``meters``, ``options``, ``muted``, ``clock`` and ``running`` are the session's own (plain
  attribute reads, safe from another thread);
* ``bus.add_listener(fn)`` (called on the consumer's loop) delivers every event to ``fn`` on that
  loop: the session thread appends to a queue and, for the first event since the last drain,
  schedules one drain on the consumer's loop, so delivery is immediate and bursts coalesce;
  event types the consumer named with ``bus.deliver_lazily(types)`` (level readings, which a
  console draws at its next frame anyway) wake nobody: they wait, in order, for the next event
  that does or for the consumer's own ``bus.drain()``;
* ``await run()`` (on the consumer's loop) starts the thread and returns once the session has
  stopped and its thread has ended (engines closed), re-raising the session's error.

One process-wide setting is changed, explicitly and only while a session thread runs: the
interpreter's thread switch interval (see :class:`SwitchInterval`); the value before is
restored when the last session thread ends.

No textual import: this is core code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from collections.abc import Callable, Collection
from typing import Any

from voiceconsole.clock import Clock
from voiceconsole.engines.base import TurnSettings
from voiceconsole.events import Event
from voiceconsole.session.bus import EventBus
from voiceconsole.session.session import Session, SessionMeters, SessionOptions

Listener = Callable[[Event], None]

SWITCH_INTERVAL_S = 0.001
"""The interpreter's thread switch interval while a session thread runs (the default is 5 ms)."""


class SwitchInterval:
    """Lowers ``sys.setswitchinterval`` while at least one holder is active; restores it after.

    A thread waiting for the GIL gets it after at most the switch interval: with the UI
    painting on the main thread, the session thread's capture -> STT path would otherwise wait
    up to a whole default slice for it. Holders nest (two session threads at once): the first
    :meth:`acquire` saves the interpreter's value, the last :meth:`release` puts it back.
    """

    _lock = threading.Lock()
    _holders = 0
    _saved = 0.0

    @classmethod
    def acquire(cls, interval_s: float) -> None:
        """Lower the switch interval to ``interval_s`` (never raise it) until :meth:`release`."""
        with cls._lock:
            if cls._holders == 0:
                cls._saved = sys.getswitchinterval()
            cls._holders += 1
            sys.setswitchinterval(min(sys.getswitchinterval(), interval_s))

    @classmethod
    def release(cls) -> None:
        """End one :meth:`acquire`; the last one restores the value saved by the first."""
        with cls._lock:
            if cls._holders == 0:
                return
            cls._holders -= 1
            if cls._holders == 0:
                sys.setswitchinterval(cls._saved)


class ThreadedEvents:
    """The session's events, delivered on the loop each listener was added from."""

    def __init__(self, session_bus: EventBus) -> None:
        self._session_bus = session_bus
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._attached = False
        self._lazy: frozenset[type[Event]] = frozenset()
        self._wake_due = False

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on, on the calling thread's loop."""
        loop = asyncio.get_running_loop()
        if self._loop is not None and loop is not self._loop:
            raise RuntimeError("all listeners of a SessionThread's events must be on one event loop")
        self._loop = loop
        self._listeners.append(listener)
        if not self._attached:
            self._attached = True
            self._session_bus.add_listener(self._on_session_event)

    def deliver_lazily(self, types: Collection[type[Event]]) -> None:
        """Events of ``types`` do not wake the consumer: call :meth:`drain` (on its loop) to
        have them delivered, as it does before each frame; any other event delivers them too."""
        self._lazy = frozenset(types)

    @property
    def lazily_delivered(self) -> frozenset[type[Event]]:
        """The event types given to :meth:`deliver_lazily` (none until then)."""
        return self._lazy

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _on_session_event(self, event: Event) -> None:
        # On the session thread: queue it; for the first event since the last drain that is
        # not delivered lazily, wake the consumer once the session's loop has finished what it
        # is doing (its next turn), not in the middle of it: a consumer woken at once wants
        # the GIL back, and the two threads would trade it while a mic block is processed.
        with self._lock:
            self._pending.append(event)
            wake = not self._wake_due and type(event) not in self._lazy
            if wake:
                self._wake_due = True
        if wake:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # not on a running loop: wake now
                self.flush()

    def flush(self) -> None:
        """Wake the consumer if events are waiting (the session thread calls this)."""
        loop = self._loop
        if self._wake_due and loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.drain)
            except RuntimeError:  # the consumer's loop closed meanwhile
                pass

    def drain(self) -> None:
        """Deliver the waiting events now (on the consumer's loop: the wake-up scheduled by the
        session thread, or the consumer itself, as the console does before each frame)."""
        with self._lock:
            batch, self._pending = self._pending, []
            self._wake_due = False
        for event in batch:
            for listener in list(self._listeners):
                listener(event)


class SessionThread:
    """A session running on its own thread; see the module docstring."""

    def __init__(
        self, session: Session, *, name: str = "vc-session", switch_interval_s: float | None = SWITCH_INTERVAL_S
    ) -> None:
        """``switch_interval_s``: the interpreter's switch interval while the thread runs
        (restored after); None leaves it alone."""
        if switch_interval_s is not None and not switch_interval_s > 0:
            raise ValueError("switch_interval_s must be a positive number of seconds (or None)")
        self.session = session
        self.switch_interval_s = switch_interval_s
        self.bus = ThreadedEvents(session.bus)
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._early: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    # --- what the UI reads ------------------------------------------------------------------

    @property
    def meters(self) -> SessionMeters:
        """The session's level meters (polled by the UI)."""
        return self.session.meters

    @property
    def options(self) -> SessionOptions:
        """The session's options (``auto_barge_in`` is toggled from the UI)."""
        return self.session.options

    @property
    def muted(self) -> bool:
        """Whether the mic is muted."""
        return bool(self.session.muted)

    @property
    def clock(self) -> Clock:
        """The session clock."""
        return self.session.clock

    @property
    def running(self) -> bool:
        """Whether the session is running."""
        return bool(self.session.running)

    # --- commands (any thread) --------------------------------------------------------------

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the session's loop (queued until it starts; dropped once it ended)."""
        with self._lock:
            loop = self._loop
            if loop is None:
                if not self._done.done():
                    self._early.append((fn, args))
                return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the session's loop has closed: the session is over
            pass

    def interrupt(self, reason: str = "key") -> None:
        """Barge in: silence the reply now and cancel the queue."""
        self.call_soon(self.session.interrupt, reason)

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the mic."""
        self.call_soon(self.session.set_muted, muted)

    def say(self, text: str) -> None:
        """Queue ``text`` for the bot to speak (the reply number arrives as ``tts.queued``)."""
        self.call_soon(self.session.say, text)

    def update_turn_settings(self, settings: TurnSettings) -> None:
        """Change the STT engine's turn settings; bad values raise ``ValueError`` here, at once."""
        settings.validate()
        self.call_soon(self.session.update_turn_settings, settings)

    def request_stop(self, reason: str = "quit") -> None:
        """Ask the session to stop (engines close cleanly)."""
        self.call_soon(self.session.request_stop, reason)

    # --- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the session's thread (at most once)."""
        if self._thread is not None:
            return
        if self.switch_interval_s is not None:
            SwitchInterval.acquire(self.switch_interval_s)
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()

    async def run(self) -> None:
        """Start the thread and wait (without blocking this loop) until the session has ended."""
        self.start()
        try:
            await asyncio.wrap_future(self._done)
        finally:
            if self._done.done():
                self.join()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the session's thread to end."""
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # handed to whoever awaits run()
            self._release_switch_interval()
            self._done.set_exception(exc)
        else:
            self._release_switch_interval()
            self._done.set_result(None)

    def _release_switch_interval(self) -> None:
        if self.switch_interval_s is not None:
            SwitchInterval.release()

    async def _serve(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            early, self._early = self._early, []
        for fn, args in early:
            self._loop.call_soon(fn, *args)
        try:
            await self.session.run()
        finally:
            self.bus.flush()  # the last events (session.stop) go out now
            with self._lock:
                self._loop = None


__all__ = ["SWITCH_INTERVAL_S", "SessionThread", "SwitchInterval", "ThreadedEvents"]
