"""Running a session without the UI (``--no-ui``): events to JSON lines, a summary to the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import TextIO

from voiceconsole.config import Settings
from voiceconsole.events import (
    EngineError,
    Event,
    LlmDone,
    SessionStarted,
    TtsFailed,
    TtsQueued,
    TurnEnd,
)
from voiceconsole.preflight import preflight
from voiceconsole.secrets import display_text
from voiceconsole.session.build import build_session
from voiceconsole.session.eventlog import JsonlEventWriter
from voiceconsole.session.recorder import attach_recorder


class SummaryPrinter:
    """A bus listener that prints one human line per finished turn, reply and error."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.turns = 0
        self.replies = 0
        self.errors = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, SessionStarted):
            self._line(
                f"session: stt={event.stt} tts={event.tts} responder={event.responder} mic={event.source} speaker={event.sink}"
            )
        elif isinstance(event, TurnEnd):
            self.turns += 1
            self._line(
                f"turn {event.turn} ended at {event.audio_t:7.2f} s: {event.transcript or '(no words)'}"
            )
        elif isinstance(event, TtsQueued):
            self.replies += 1
            # A streamed LLM reply is queued before its words exist; llm.done prints them.
            self._line(f"reply {event.reply} queued: {event.text or '(streaming from the LLM)'}")
        elif isinstance(event, LlmDone):
            self._line(f"llm reply {event.request} done: {event.text or '(empty)'}")
        elif isinstance(event, TtsFailed):
            self.errors += 1
            self._line(f"reply {event.reply} failed: {event.message}")
        elif isinstance(event, EngineError):
            self.errors += 1
            hint = f" ({event.hint})" if event.hint else ""
            self._line(f"{event.role} engine {event.engine}: {event.message}{hint}")

    def _line(self, text: str) -> None:
        # Server text can reach these lines: a key or an escape sequence never does.
        print(display_text(text, 2000), file=self.out, flush=True)


async def run_headless_async(settings: Settings) -> int:
    """Build and run a session; returns the exit code."""
    preflight(settings)
    session = build_session(settings)
    recorder = attach_recorder(session, settings)
    writer = JsonlEventWriter(settings.events) if settings.events else None
    summary = SummaryPrinter(sys.stderr if settings.events == "-" else sys.stdout)
    session.bus.add_listener(summary)
    if writer is not None:
        session.bus.add_listener(writer)
    loop = asyncio.get_running_loop()
    run = asyncio.ensure_future(session.run())
    stopped: list[str] = []

    def stop(reason: str) -> None:
        stopped.append(reason)
        session.request_stop(reason)  # an engine still connecting stops waiting too
        if len(stopped) > 1:  # a second signal forces the stop (e.g. a server that never closes)
            run.cancel()

    for sig, reason in (
        (signal.SIGINT, "interrupted"),
        (signal.SIGTERM, "terminated"),
        (signal.SIGHUP, "hangup"),
    ):
        try:
            loop.add_signal_handler(sig, stop, reason)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        await run
    except asyncio.CancelledError:
        if not stopped:
            raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
        if writer is not None:
            writer.close()
        if recorder is not None:
            recorder.close()
    print(
        f"{summary.turns} turns, {summary.replies} replies, {session.bus.history_count} events",
        file=summary.out,
    )
    if run.cancelled():
        print(
            f"voiceconsole: stopped ({stopped[0]}) before the engines were ready",
            file=sys.stderr,
        )
        return 130
    return 0


def run_headless(settings: Settings) -> int:
    """Synchronous entry point for the CLI."""
    return asyncio.run(run_headless_async(settings))
