"""Every watched connection of one ``tap`` or ``serve`` run, numbered from 1.

The hub opens a :class:`~voiceconsole.serve.watch.WatchSession` per connection, records each
to ``DIR/NNN-kind`` with ``--record DIR`` (a normal recording: ``replay`` and ``report`` read
it), writes every event to ``--events`` as a JSON line tagged with its ``session`` number, and
tells listeners (a console's session picker) when a session opens or closes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

from voiceconsole.clock import Clock, RealClock
from voiceconsole.errors import ConfigError
from voiceconsole.events import Event, to_dict
from voiceconsole.serve.routes import StreamRequest
from voiceconsole.serve.watch import WatchSession
from voiceconsole.session.recorder import Recorder

if TYPE_CHECKING:
    from voiceconsole.session.session import Session

SessionListener = Callable[[WatchSession], None]


class TaggedEventWriter:
    """Appends each event as one JSON line with its ``session`` number (``-``: stdout)."""

    def __init__(self, target: str) -> None:
        self.target = target
        if target == "-":
            self._fh: TextIO = sys.stdout
            self._owned = False
        else:
            try:
                self._fh = Path(target).open("a", encoding="utf-8")  # noqa: SIM115 (open for the run)
            except OSError as exc:
                raise ConfigError(
                    f"--events {target}: cannot write ({exc.strerror or exc}); choose a writable path"
                ) from None
            self._owned = True
        self.count = 0

    def write(self, session: int, event: Event) -> None:
        """One line: the event's fields plus ``session``."""
        self._fh.write(
            json.dumps(
                {**to_dict(event), "session": session},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            + "\n"
        )
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        """Flush and close (stdout stays open)."""
        if self._owned:
            self._fh.close()
        else:
            self._fh.flush()


class WatchHub:
    """Opens, records and announces the watched sessions."""

    def __init__(
        self,
        mode: str,
        *,
        record: str | None = None,
        events: str | None = None,
        clock: Callable[[], Clock] = RealClock,
    ) -> None:
        self.mode = mode
        self.clock = clock
        """Makes each session's clock (real time; a test or a snapshot may give a virtual one)."""
        self.sessions: list[WatchSession] = []
        self.record_dir = Path(record) if record else None
        if self.record_dir is not None:
            if self.record_dir.exists() and not self.record_dir.is_dir():
                raise ConfigError(
                    f"--record {self.record_dir}: is a file; give a directory"
                )
            try:
                self.record_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"--record {self.record_dir}: cannot create it ({exc.strerror or exc})"
                ) from None
        self.writer = TaggedEventWriter(events) if events else None
        self.watch_in_thread = True
        """Watch on a thread of its own (off the relay's loop); False: at once (tests, scenes)."""
        self._watcher: ThreadPoolExecutor | None = None
        self._open: dict[int, WatchSession] = {}
        self.on_open: list[SessionListener] = []
        self.on_close: list[SessionListener] = []
        self._recorders: dict[int, Recorder] = {}

    @property
    def active(self) -> list[WatchSession]:
        """Sessions whose connection is still open."""
        return list(self._open.values())

    def _executor(self) -> ThreadPoolExecutor | None:
        if not self.watch_in_thread:
            return None
        if self._watcher is None:
            self._watcher = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="vc-watch"
            )
        return self._watcher

    def open(self, request: StreamRequest) -> WatchSession:
        """A new connection: its session is numbered, recorded, announced, then started."""
        session = WatchSession(
            len(self.sessions) + 1, request, mode=self.mode, clock=self.clock()
        )
        self.sessions.append(session)
        session.executor = self._executor()
        self._open[session.number] = session
        if self.writer is not None:
            writer, number = self.writer, session.number
            session.bus.add_listener(lambda event: writer.write(number, event))
        if self.record_dir is not None:
            directory = self.record_dir / f"{session.number:03d}-{request.kind}"
            recorder = Recorder(directory).attach(cast("Session", session))
            self._recorders[session.number] = recorder
        for listener in list(self.on_open):
            listener(session)
        session.post(session.start)
        return session

    def close(self, session: WatchSession, code: int | None, reason: str = "") -> None:
        """The connection ended: ``session.stop`` once every frame before it was watched."""
        if self._open.pop(session.number, None) is None:
            return
        session.post(self._closed, session, code, reason)

    def _closed(self, session: WatchSession, code: int | None, reason: str) -> None:
        session.stop(code, reason)
        recorder = self._recorders.pop(session.number, None)
        if recorder is not None:
            recorder.close()
        for listener in list(self.on_close):
            listener(session)

    def shutdown(self) -> None:
        """Close what is still open (the server is stopping) and the event log."""
        for session in self.active:
            self.close(session, 1001, "server stopping")
        if self._watcher is not None:
            self._watcher.shutdown(wait=True)
        if self.writer is not None:
            self.writer.close()
