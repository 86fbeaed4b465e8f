"""``serve``'s STT answers: the offline turn detector and pocketsphinx behind both STT endpoints.

``/stt/turns/websocket`` gets ``connected``, then ``turn.start``/``update``/``eager_end``/
``resume``/``end`` from :class:`~voiceconsole.engines.local_stt.LocalTurnProcessor`;
``{"type":"close"}`` ends an open turn, sends what is left and closes with 1000.
``/stt/websocket`` gets interim transcripts while a turn is open and a final one when it ends or
on ``finalize`` (then ``flush_done``); ``close``/``done`` is answered by ``done`` and 1000.

Audio faster than real time is throttled as the service does (about one second of audio per
second): past a small burst the socket is not read until the wall clock catches up, and the
console shows a warning once. The model work runs on the backend's worker threads, one call
per connection at a time, in order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.local_stt import LocalTurnProcessor, TurnSignal, WorkerOutput
from voiceconsole.serve.routes import (
    Refusal,
    StreamRequest,
    check_turn_values,
    error_frame,
)
from voiceconsole.serve.wire_audio import WireAudio

BURST_S = 2.0
"""Audio a client may send ahead of real time before it is throttled."""

Send = Callable[[str], Awaitable[None]]
Recv = Callable[[], Awaitable[str | bytes]]


class SttAnswerer:
    """Answers one STT connection. ``send`` sends (and watches) a frame; ``warn`` tells the console."""

    def __init__(
        self,
        request: StreamRequest,
        executor: Executor,
        send: Send,
        warn: Callable[[str], None],
        *,
        burst_s: float = BURST_S,
    ) -> None:
        self.request = request
        self.executor = executor
        self.send = send
        self.warn = warn
        self.burst_s = burst_s
        self.turns = request.kind == "turns"
        self.wire = WireAudio(request.encoding, request.sample_rate, 16000)
        self.processor: LocalTurnProcessor | None = None
        self.finals = 0
        self.paced = False
        self._t0 = 0.0
        self._turn_start_s = 0.0

    async def _work(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, fn, *args
        )

    async def start(self) -> None:
        """Load the models (on a worker thread); Ink-2 then says ``connected``."""
        self.processor = await self._work(LocalTurnProcessor, TurnSettings())
        self._t0 = time.monotonic()
        if self.turns:
            await self._json({"type": "connected"})

    async def run(self, recv: Recv) -> bool:
        """Answer messages until the client's close command; True if it asked to close."""
        while True:
            message = await recv()
            if isinstance(message, bytes):
                await self.audio(message)
            elif await self.command(message):
                return True

    async def audio(self, data: bytes) -> None:
        """One audio frame: throttle to real time, detect, send what it caused."""
        assert self.processor is not None
        samples = self.wire.feed(data)
        lead = self.wire.seconds_in - (time.monotonic() - self._t0)
        if lead > self.burst_s:
            if not self.paced:
                self.paced = True
                self.warn(
                    f"audio arrives faster than real time: throttled to 1x after a {self.burst_s:g} s burst"
                )
            await asyncio.sleep(lead - self.burst_s)
        if samples.size:
            await self._answer(await self._work(self.processor.process, samples))

    async def command(self, text: str) -> bool:
        """A text frame; True when it ends the session."""
        if self.turns:
            return await self._turns_command(text)
        word = text.strip()
        if word == "finalize":
            await self._finish()
            await self._json({"type": "flush_done"})
            return False
        if word in ("close", "done"):
            await self._finish()
            await self._json({"type": "done"})
            return True
        await self.send(
            error_frame(
                400,
                "invalid_message",
                "send audio as binary frames, and 'finalize' or 'close' as text",
                request_id=self.request.request_id,
            )
        )
        return False

    async def _turns_command(self, text: str) -> bool:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "close":
            await self._finish()
            return True
        if (
            kind == "config"
            and isinstance(data, dict)
            and isinstance(data.get("turn"), dict)
        ):
            try:
                check_turn_values(
                    {
                        f"turn_{k}": v
                        for k, v in data["turn"].items()
                        if f"turn_{k}" in _TURN_KEYS
                    }
                )
            except Refusal as refusal:
                await self.send(
                    error_frame(
                        400,
                        refusal.error_code,
                        refusal.message,
                        request_id=self.request.request_id,
                    )
                )
            return False
        message = (
            "not JSON"
            if data is None
            else f"unknown command type {kind!r}"
            if kind
            else "command without 'type'"
        )
        await self.send(
            error_frame(
                400,
                "invalid_message",
                f'{message}; send {{"type":"close"}} or a config command',
                request_id=self.request.request_id,
            )
        )
        return False

    async def _finish(self) -> None:
        assert self.processor is not None
        await self._answer(await self._work(self.processor.finish))

    async def _answer(self, outputs: list[WorkerOutput]) -> None:
        for out in outputs:
            if isinstance(out, TurnSignal):
                await (self._turn(out) if self.turns else self._transcript(out))

    async def _turn(self, signal: TurnSignal) -> None:
        message: dict[str, Any] = {"type": f"turn.{signal.kind}"}
        if signal.kind in ("update", "eager_end", "end"):
            message["transcript"] = signal.text or ""
        await self._json(message)

    async def _transcript(self, signal: TurnSignal) -> None:
        now_s = self.wire.seconds_in
        if signal.kind == "start":
            self._turn_start_s = now_s
            return
        if signal.kind not in ("update", "end") or not signal.text:
            return
        text = (" " if self.finals else "") + signal.text
        final = signal.kind == "end"
        self.finals += int(final)
        await self._json(
            {
                "type": "transcript",
                "is_final": final,
                "text": text,
                "duration": round(now_s - self._turn_start_s, 3),
                "language": self.request.param("language", "en"),
            }
        )

    async def _json(self, message: dict[str, Any]) -> None:
        message["request_id"] = self.request.request_id
        await self.send(json.dumps(message, separators=(",", ":")))


_TURN_KEYS = (
    "turn_start_threshold",
    "turn_eager_end_threshold",
    "turn_end_threshold",
    "turn_end_timeout_ms",
)
