"""``serve``'s TTS answers: espeak-ng behind ``/tts/websocket``, context by context.

Each request is one text piece of a context; pieces of a context are spoken in order as they
come (``continue: true`` keeps it open, ``continue: false`` ends it, after which ``done`` is
sent). Audio goes out as ``chunk`` messages in the requested raw encoding and rate, with
``timestamps`` (seconds from the context's audio start) when ``add_timestamps`` is set, and a
``flush_done`` after a piece sent with ``flush: true``. A cancel stops the context at once:
nothing more of it is sent. A bad request gets an error carrying its ``context_id``; the socket
and its other contexts go on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from voiceconsole.audio.resample import StreamResampler
from voiceconsole.engines.cartesia.audio_format import encode_audio
from voiceconsole.engines.cartesia.tts_messages import TTS_SAMPLE_RATES
from voiceconsole.engines.local_tts import LocalTtsEngine
from voiceconsole.serve.routes import StreamRequest, error_frame

TTS_ENCODINGS = ("pcm_s16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
"""Raw encodings the TTS endpoint produces."""

Send = Callable[[str], Awaitable[None]]


class BadRequest(ValueError):
    """A TTS request that is refused (the message is sent back as an error)."""

    def __init__(self, message: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Piece:
    """One text piece of a context."""

    text: str
    more: bool
    timestamps: bool
    flush: bool


@dataclass
class Context:
    """One context being spoken."""

    context_id: str
    encoding: str
    sample_rate: int
    pieces: asyncio.Queue[Piece] = field(default_factory=asyncio.Queue)
    resampler: StreamResampler | None = None
    offset_s: float = 0.0
    flushes: int = 0
    reply: int = 0
    ended: bool = False
    cancelled: bool = False
    task: asyncio.Task[None] | None = None


def _ignore(event_type: Any, /, **fields: Any) -> Any:
    return None


def parse_tts_request(text: str) -> dict[str, Any]:
    """A request as an object, or :class:`BadRequest`."""
    try:
        data = json.loads(text)
    except ValueError:
        raise BadRequest(
            "request is not JSON; send one JSON object per text frame",
            "invalid_message",
        ) from None
    if not isinstance(data, dict):
        raise BadRequest("request is not a JSON object", "invalid_message")
    return data


def check_format(data: dict[str, Any]) -> tuple[str, int]:
    """The request's (encoding, sample_rate), or :class:`BadRequest` saying what to send."""
    if not isinstance(data.get("transcript"), str):
        raise BadRequest("'transcript' is required and must be a string")
    if not data.get("model_id"):
        raise BadRequest("'model_id' is required, e.g. sonic-3")
    if not isinstance(data.get("voice"), (dict, str)):
        raise BadRequest(
            '\'voice\' is required, e.g. {"mode": "id", "id": "<voice id>"}'
        )
    fmt = data.get("output_format")
    if not isinstance(fmt, dict):
        raise BadRequest(
            '\'output_format\' is required: {"container": "raw", "encoding": ..., "sample_rate": ...}'
        )
    if fmt.get("container", "raw") != "raw":
        raise BadRequest(
            f"container {fmt.get('container')!r} is not supported on the websocket; use raw"
        )
    encoding = fmt.get("encoding")
    if encoding not in TTS_ENCODINGS:
        raise BadRequest(
            f"encoding {encoding!r} is not supported; use one of {', '.join(TTS_ENCODINGS)}"
        )
    rate = fmt.get("sample_rate")
    if rate not in TTS_SAMPLE_RATES or isinstance(rate, bool):
        raise BadRequest(
            f"sample_rate {rate!r} is not supported; use one of {', '.join(map(str, TTS_SAMPLE_RATES))}"
        )
    return str(encoding), int(rate)


class TtsAnswerer:
    """Answers one TTS connection; ``send`` sends (and watches) a frame."""

    def __init__(self, request: StreamRequest, send: Send) -> None:
        self.request = request
        self.send = send
        self.engine = LocalTtsEngine()
        self.contexts: dict[str, Context] = {}
        self._replies = 0

    async def start(self) -> None:
        """Load espeak-ng (shared by every connection)."""
        await self.engine.start(_ignore)

    async def close(self) -> None:
        """Stop every context and release espeak."""
        for ctx in self.contexts.values():
            if ctx.task is not None:
                ctx.task.cancel()
        for ctx in self.contexts.values():
            if ctx.task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ctx.task
        await self.engine.close()

    async def message(self, message: str | bytes) -> None:
        """One client frame."""
        if isinstance(message, bytes):
            await self._error(
                None,
                BadRequest(
                    "binary frames are not accepted here; send JSON text",
                    "invalid_message",
                ),
            )
            return
        try:
            data = parse_tts_request(message)
        except BadRequest as exc:
            await self._error(None, exc)
            return
        ctx_id = data.get("context_id")
        ctx_id = str(ctx_id) if ctx_id is not None else ""
        if data.get("cancel"):
            await self.cancel(ctx_id)
            return
        try:
            encoding, rate = check_format(data)
        except BadRequest as exc:
            await self._error(ctx_id or None, exc)
            return
        ctx_id = ctx_id or str(uuid.uuid4())
        ctx = self.contexts.get(ctx_id)
        if ctx is None or ctx.ended:
            ctx = self.contexts[ctx_id] = Context(ctx_id, encoding, rate)
            ctx.task = asyncio.create_task(self._speak(ctx), name=f"tts-{ctx_id[:16]}")
        elif (encoding, rate) != (ctx.encoding, ctx.sample_rate):
            await self._error(
                ctx_id,
                BadRequest(
                    "every request of a context must use the same output_format"
                ),
            )
            return
        more = data.get("continue", False) is True
        ctx.ended = not more
        ctx.pieces.put_nowait(
            Piece(
                data["transcript"],
                more,
                data.get("add_timestamps") is True,
                data.get("flush") is True,
            )
        )

    async def cancel(self, ctx_id: str) -> None:
        """Stop a context now; nothing more of it is sent."""
        ctx = self.contexts.get(ctx_id)
        if ctx is None or ctx.cancelled:
            return
        ctx.cancelled = ctx.ended = True
        await self.engine.cancel(ctx.reply)
        if ctx.task is not None:
            ctx.task.cancel()

    async def _speak(self, ctx: Context) -> None:
        while True:
            piece = await ctx.pieces.get()
            if piece.text.strip():
                await self._piece(ctx, piece)
            if ctx.cancelled:
                return
            if piece.flush:
                ctx.flushes += 1
                await self._json(
                    ctx,
                    {
                        "type": "flush_done",
                        "done": False,
                        "flush_done": True,
                        "flush_id": ctx.flushes,
                    },
                )
            if not piece.more:
                await self._json(ctx, {"type": "done", "done": True})
                return

    async def _piece(self, ctx: Context, piece: Piece) -> None:
        self._replies += 1
        ctx.reply = self._replies
        if ctx.resampler is None:
            ctx.resampler = StreamResampler(self.engine.sample_rate, ctx.sample_rate)
        start = ctx.offset_s
        started = time.monotonic()
        async for chunk in self.engine.synthesize(ctx.reply, piece.text):
            if ctx.cancelled:
                return
            if piece.timestamps and chunk.words:
                words = chunk.words
                await self._json(
                    ctx,
                    {
                        "type": "timestamps",
                        "done": False,
                        "word_timestamps": {
                            "words": [w.word for w in words],
                            "start": [round(start + w.start, 4) for w in words],
                            "end": [round(start + w.end, 4) for w in words],
                        },
                    },
                )
            samples = ctx.resampler.process(chunk.samples)
            ctx.offset_s += chunk.samples.size / self.engine.sample_rate
            if samples.size:
                step_ms = round((time.monotonic() - started) * 1000)
                started = time.monotonic()
                data = base64.b64encode(encode_audio(samples, ctx.encoding)).decode(
                    "ascii"
                )
                await self._json(
                    ctx,
                    {
                        "type": "chunk",
                        "data": data,
                        "done": False,
                        "step_time": step_ms,
                    },
                )

    async def _json(self, ctx: Context, message: dict[str, Any]) -> None:
        message.update(status_code=206, context_id=ctx.context_id)
        await self.send(json.dumps(message, separators=(",", ":")))

    async def _error(self, ctx_id: str | None, exc: BadRequest) -> None:
        await self.send(
            error_frame(
                400,
                exc.code,
                str(exc),
                request_id=self.request.request_id,
                context_id=ctx_id,
            )
        )
