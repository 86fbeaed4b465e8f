"""``voiceconsole`` itself: build the session from the settings and run the console on it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from voiceconsole.config import Settings
from voiceconsole.errors import ConfigError
from voiceconsole.preflight import preflight
from voiceconsole.session.build import build_session
from voiceconsole.session.eventlog import JsonlEventWriter
from voiceconsole.session.recorder import attach_recorder
from voiceconsole.session.threaded import SessionThread
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.themes import load_themes


def _stop_on_signals(app: VoiceConsoleApp, controller: SessionThread) -> dict[int, Any]:
    """SIGTERM and SIGHUP stop the console as ``q`` does: the session ends with ``session.stop``
    (the recording complete) and the terminal is restored. Returns the previous handlers."""

    def handler(signum: int, frame: object) -> None:
        controller.request_stop("terminated" if signum == signal.SIGTERM else "hangup")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the app is not running (yet, or any more)
            return
        loop.call_soon_threadsafe(app.exit, 128 + signum)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(
            ValueError, OSError
        ):  # not the main thread: leave them be
            previous[sig] = signal.signal(sig, handler)
    return previous


def run_console(settings: Settings) -> int:
    """Build the session from ``settings`` and run the console on it; returns the exit code."""
    preflight(settings)
    themes = load_themes()
    wanted = settings.theme
    broken = any(wanted and f"{wanted}.toml" in p for p in themes.problems)
    if wanted and wanted not in themes.themes and not broken and themes.themes:
        raise ConfigError(
            f"unknown theme {wanted!r}; choose one of {', '.join(themes.names)}"
        )
    if settings.events == "-":
        raise ConfigError(
            "--events - writes to the terminal the console draws on; give a file path or add --no-ui"
        )
    session = build_session(settings, hold_open=True)
    recorder = attach_recorder(session, settings)
    writer = JsonlEventWriter(settings.events) if settings.events else None
    if writer is not None:
        session.bus.add_listener(writer)
    # The session runs on its own thread and loop, so a paint never delays capture -> STT.
    controller = SessionThread(session)
    app = VoiceConsoleApp(
        controller=controller, settings=settings, clock=session.clock, themes=themes
    )
    previous = _stop_on_signals(app, controller)
    try:
        result = app.run()
        controller.request_stop("quit")  # e.g. the app failed before its own quit ran
        controller.join(timeout=20)
    finally:
        for sig, old in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old)
        if writer is not None:
            writer.close()
        if recorder is not None:
            recorder.close()
    return int(result if result is not None else app.exit_code)


__all__ = ["run_console"]
