"""The watched connections as one :class:`~voiceconsole.session.controller.Controller`.

The console shows one session at a time: :class:`WatchController` forwards the events of the
selected connection only, and its clock and meters are that connection's. :meth:`select`
switches (the console then replays the new session's history). The agent owns its audio and
replies, so the commands a console sends (interrupt, mute, say, retune) change nothing here.

The server runs on a thread and loop of its own, so a paint of the console never delays a
forwarded frame; events reach the console's loop in order (``call_soon_threadsafe``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voiceconsole.clock import RealClock
from voiceconsole.engines.base import TurnSettings
from voiceconsole.events import Event
from voiceconsole.serve.runner import WatchRun
from voiceconsole.serve.watch import WatchSession
from voiceconsole.session.controller import Listener
from voiceconsole.session.options import SessionMeters


@dataclass
class WatchOptions:
    """The console's barge-in switch: the agent decides its barge-ins, so it stays off."""

    auto_barge_in: bool = False


class SelectedClock:
    """The selected session's clock (a fresh one before the first connection)."""

    def __init__(self, current: Callable[[], WatchSession | None]) -> None:
        self._current = current
        self._idle = RealClock()

    def now(self) -> float:
        """Seconds on the selected session's clock."""
        session = self._current()
        return session.clock.now() if session is not None else self._idle.now()


class SelectedEvents:
    """An event source that passes on the selected session's events only."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` for every event of the selected session from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def deliver(self, event: Event) -> None:
        """One event of the selected session."""
        for listener in list(self._listeners):
            listener(event)


class WatchController:
    """What the console drives while ``tap`` or ``serve`` runs."""

    def __init__(self, run: WatchRun, *, serve: bool = True) -> None:
        """``serve=False``: listen nowhere; the sessions are those the caller opens on ``run.hub``
        (scenes, snapshots, sessions fed from elsewhere)."""
        self.watch_run = run
        self.serving = serve
        self._idle_stop: asyncio.Event | None = None
        self.hub = run.hub
        self.selected: WatchSession | None = None
        self.on_switch: list[Callable[[WatchSession, list[Event]], None]] = []
        """Called on the console's loop after :meth:`select` switched sessions, with the new
        session's events so far (the console replays them)."""
        self.on_open: list[Callable[[WatchSession], None]] = []
        """Called on the console's loop when a connection opens."""
        self._events = SelectedEvents()
        self._clock = SelectedClock(lambda: self.selected)
        self._idle_meters = SessionMeters()
        self._options = WatchOptions()
        self._running = False
        self._stop_requested = False
        self._from = (
            0  # history index from which the selected session's events are passed on
        )
        self._ui_loop: asyncio.AbstractEventLoop | None = None
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self.hub.on_open.append(self._opened)

    def _post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn`` on the console's loop (at once when there is none yet, or on it already)."""
        loop = self._ui_loop
        if loop is None or self._on_ui_thread():
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def _on_ui_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._ui_loop
        except RuntimeError:
            return False

    def _opened(self, session: WatchSession) -> None:
        # On the server's loop: from here on, each event hops to the console's loop with its
        # place in the session's history.
        session.bus.add_listener(
            lambda event: self._post(
                self._forward, session, event, len(session.history) - 1
            )
        )
        self._post(self._announce, session)

    def _announce(self, session: WatchSession) -> None:
        for listener in list(self.on_open):
            listener(session)
        if self.selected is None:
            self.select(session.number)

    def _forward(self, session: WatchSession, event: Event, index: int) -> None:
        if session is self.selected and index >= self._from:
            self._events.deliver(event)

    def select(self, number: int) -> None:
        """Show session ``number`` from now on (call on the console's loop)."""
        for session in self.hub.sessions:
            if session.number == number and session is not self.selected:
                history = list(session.history)
                self.selected, self._from = session, len(history)
                for listener in list(self.on_switch):
                    listener(session, history)
                return

    # --- the Controller protocol ----------------------------------------------------------------

    def interrupt(self, reason: str) -> None:
        """Nothing to interrupt: the agent plays its own replies."""

    def set_muted(self, muted: bool) -> None:
        """Nothing to mute: the agent streams its own audio."""

    def say(self, text: str) -> int | None:
        """Nothing to say: the agent writes its own replies."""
        return None

    def update_turn_settings(self, settings: TurnSettings) -> None:
        """The agent sets its turn tuning on its own connection."""
        raise ValueError(
            "watching an agent: change the turn settings in the agent's own Cartesia options"
        )

    def request_stop(self, reason: str) -> None:
        """Stop serving; :meth:`run` then closes every connection and returns."""
        self._stop_requested = True
        if self._idle_stop is not None:
            self._idle_stop.set()
        loop = self._server_loop
        if loop is not None:
            loop.call_soon_threadsafe(self.watch_run.request_stop)

    async def run(self) -> None:
        """Serve on a thread of its own until stopped; re-raises its failure (e.g. the port is taken)."""
        self._ui_loop = asyncio.get_running_loop()
        if not self.serving:
            self._idle_stop = asyncio.Event()
            self._running = True
            try:
                if not self._stop_requested:
                    await self._idle_stop.wait()
            finally:
                self._running = False
            return
        done = asyncio.Event()
        failure: list[Exception] = []

        def serve() -> None:
            try:
                asyncio.run(self._serve())
            except Exception as exc:  # noqa: BLE001 (handed to the console's loop, which shows it)
                failure.append(exc)
            finally:
                ui_loop = self._ui_loop
                if ui_loop is not None and not ui_loop.is_closed():
                    ui_loop.call_soon_threadsafe(done.set)

        self._running = True
        threading.Thread(target=serve, name="vc-watch-server", daemon=True).start()
        try:
            await done.wait()
        finally:
            self._running = False
        if failure:
            raise failure[0]

    async def _serve(self) -> None:
        self._server_loop = asyncio.get_running_loop()
        if self._stop_requested:
            return
        await self.watch_run.serve_until_stopped(None)

    @property
    def url(self) -> str:
        """The base URL agents point at (its port is known once serving)."""
        return self.watch_run.server.url

    @property
    def muted(self) -> bool:
        """Never muted."""
        return False

    @property
    def running(self) -> bool:
        """Whether the server runs."""
        return self._running

    @property
    def clock(self) -> SelectedClock:
        """The selected session's clock."""
        return self._clock

    @property
    def options(self) -> WatchOptions:
        """Barge-in stays off."""
        return self._options

    @property
    def meters(self) -> SessionMeters:
        """The selected session's meters."""
        return self.selected.meters if self.selected is not None else self._idle_meters

    @property
    def bus(self) -> SelectedEvents:
        """The selected session's events."""
        return self._events
