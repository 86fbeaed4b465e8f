"""Building live sessions for the benchmarks: real engines against the local Cartesia server,
real devices on the virtual audio server, the real app drawing real frames, and zero-cost timing
hooks installed from outside."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from benchmarks._cartesia import API_KEY
from benchmarks.common import AUDIO_DIR_DEFAULT


def cartesia_settings(url: str, **overrides: Any) -> Any:
    """Settings for Cartesia Ink-2 turns STT and sonic TTS at ``url`` (the local server)."""
    from voiceconsole.config import Settings

    settings = Settings(stt="cartesia-turns", tts="cartesia", api_key=API_KEY, stt_url=url, tts_url=url)
    for name, value in overrides.items():
        setattr(settings, name, value)
    return settings


def use_virtual_audio() -> None:
    """Point PortAudio (through ALSA's pulse plugin) at the virtual server; call before devices."""
    os.environ.setdefault("XDG_RUNTIME_DIR", os.environ.get("VC_AUDIO_DIR", AUDIO_DIR_DEFAULT))


def install_timed_capture(capacity: int = 1 << 16) -> np.ndarray:
    """Make the capture workers built from now on note, in their PortAudio callback, the
    CLOCK_MONOTONIC time each block arrived (``times[block_index]``). Returns ``times``."""
    import time

    from voiceconsole.audio import streams

    times = np.zeros(capacity, dtype=np.float64)
    monotonic = time.monotonic

    class TimedDeviceSource(streams.DeviceSource):
        def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            times[self._written % capacity] = monotonic()
            super()._callback(indata, frames, time_info, status)

    streams.DeviceSource = TimedDeviceSource  # type: ignore[misc]
    return times


def render_like_terminal(app: Any, on_frame: Any = None) -> None:
    """Headless Textual skips turning frames into terminal bytes; do it, as a terminal driver
    would, so a headless run pays the full cost of a paint. ``on_frame(text)`` sees each frame.

    This reaches into Textual's private ``App._display``; it is kept only for
    bench_ui_latency.py until that benchmark moves to :func:`rendered_app` (public API), which
    draws the same bytes through :class:`benchmarks.peer.render_driver.RenderDriver`.
    """
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        if renderable is None or app._batch_count:
            return
        text = renderable.render_segments(app.console)
        if on_frame is not None:
            on_frame(text)

    app._display = display


@asynccontextmanager
async def rendered_app(app: Any, *, size: tuple[int, int] = (120, 40),
                       on_frame: Callable[[str], None] | None = None) -> AsyncIterator[Any]:
    """Run ``app`` on this loop, drawing every frame to terminal bytes (discarded) as on a real
    terminal, for the body of the ``async with``; the app exits at its end. ``on_frame(text)``
    sees each write to the terminal. Public Textual API only: the app's ``driver_class``,
    ``run_async`` and ``exit``."""
    import asyncio

    from benchmarks.peer.render_driver import RenderDriver

    app.driver_class = RenderDriver
    RenderDriver.on_write = on_frame
    task = asyncio.create_task(app.run_async(size=size))
    try:
        while not app.is_running:
            if task.done():
                task.result()
                raise RuntimeError("the app ended before it started running")
            await asyncio.sleep(0.01)
        yield app
    finally:
        app.exit()
        await asyncio.wait_for(task, 30)
        RenderDriver.on_write = None


async def run_with(session: Any, body: Any, *, ui: bool, settings: Any = None, size: tuple[int, int] = (120, 40)) -> Any:
    """Run ``session`` (headless, or inside the real app drawing real frames) while ``await body()``."""
    import asyncio
    import contextlib

    if not ui:
        task = asyncio.create_task(session.run())
        try:
            while not session.running:
                await asyncio.sleep(0.01)
            return await body()
        finally:
            session.request_stop("benchmark done")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
    from voiceconsole.session.threaded import SessionThread
    from voiceconsole.ui.app import VoiceConsoleApp

    # As run_console does: the session on its own thread and loop, the UI on this one.
    controller = SessionThread(session)
    app = VoiceConsoleApp(controller=controller, settings=settings)
    async with rendered_app(app, size=size):
        while not session.running:
            await asyncio.sleep(0.01)
        result = await body()
        controller.request_stop("benchmark done")
        for _ in range(3000):  # the session's engines close cleanly, within 30 s
            if not controller.running:
                break
            await asyncio.sleep(0.01)
    return result
