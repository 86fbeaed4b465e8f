"""Building live sessions for the benchmarks: real engines against the local Cartesia server,
real devices on the virtual audio server, the real app drawing real frames (through a Textual
driver chosen with public API), and timing taps on public seams only."""

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


def time_capture(source: Any, capacity: int = 1 << 16) -> np.ndarray:
    """Note, in the capture worker's PortAudio callback, the CLOCK_MONOTONIC time each block
    arrived (``times[block_number % capacity]``), through the worker's public ``on_block`` tap.
    ``source`` is a session's capture worker (``session.source``). Returns ``times``."""
    import time

    from voiceconsole.audio.capture_worker import DeviceSource

    if not isinstance(source, DeviceSource):
        raise TypeError(f"timing capture needs a device source, not {type(source).__name__}")
    times = np.zeros(capacity, dtype=np.float64)
    monotonic = time.monotonic

    def on_block(number: int) -> None:
        times[number % capacity] = monotonic()

    source.on_block = on_block
    return times


async def wait_stopped(controller: Any, timeout_s: float = 30.0) -> None:
    """Wait until ``controller.running`` goes false (its engines closed), at most ``timeout_s``."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout_s
    while controller.running and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


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
        await wait_stopped(controller)  # the session's engines close cleanly, within 30 s
    return result
