"""Cartesia sonic TTS (``--tts cartesia``): ``/tts/websocket``, one socket for many contexts.

Each reply is one context with a fresh ``context_id``. Its text is streamed in sentence or
clause pieces (``continue: true``), the last piece ending the context (``continue: false``).
Audio chunks and word timings come back tagged with the context and are routed to that
reply's stream. ``cancel(reply)`` sends ``{"context_id": ..., "cancel": true}``, drops the
audio queued for the reply and ignores its late chunks. An error tagged with a context fails
only that reply (:class:`TtsError`); the next one plays. A dropped connection fails the
replies in flight, and the socket reconnects with backoff for the next reply.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection

from voiceconsole.engines.base import Emit, TtsChunk, TtsError
from voiceconsole.engines.cartesia.errors import CartesiaError, ConnectError, ProtocolError
from voiceconsole.engines.cartesia.protocol import (
    DEFAULT_VOICE,
    TTS_PATH,
    TTS_SAMPLE_RATES,
    AudioChunk,
    Done,
    ErrorMessage,
    FlushDone,
    RetryPolicy,
    Timestamps,
    TtsFormat,
    Unknown,
    decode_tts_message,
    endpoint_url,
    pcm16_to_float,
    split_text,
    tts_cancel,
    tts_request,
)
from voiceconsole.engines.cartesia.socket import AUTH_HINT, CartesiaSocket, Timeouts
from voiceconsole.errors import ConfigError
from voiceconsole.events import WordTiming

_RECENT_CONTEXTS = 64


@dataclass
class _Context:
    reply: int
    context_id: str
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    cancelled: bool = False


class CartesiaTts:
    """Sonic TTS over one reconnecting websocket; replies are contexts."""

    name = "cartesia"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "wss://api.cartesia.ai",
        model: str = "sonic-3",
        voice: str | None = None,
        language: str = "en",
        sample_rate: int = 24000,
        policy: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        reply_timeout_s: float = 15.0,
        rng: random.Random | None = None,
    ) -> None:
        if sample_rate not in TTS_SAMPLE_RATES:
            raise ConfigError(
                f"--tts-sample-rate {sample_rate} is not offered by Cartesia; choose one of "
                f"{', '.join(str(r) for r in TTS_SAMPLE_RATES)}"
            )
        self.sample_rate = sample_rate
        self.format = TtsFormat(model_id=model, voice_id=voice or DEFAULT_VOICE, language=language, sample_rate=sample_rate)
        self._base_url = base_url
        endpoint_url(base_url, TTS_PATH)
        self.reply_timeout_s = reply_timeout_s
        self.socket = CartesiaSocket(
            url=lambda: endpoint_url(self._base_url, TTS_PATH), api_key=api_key, role="tts", engine=self.name,
            hooks=self, policy=policy, timeouts=timeouts, rng=rng,
        )
        self._emit: Emit | None = None
        self._contexts: dict[str, _Context] = {}
        self._by_reply: dict[int, _Context] = {}
        self._finished: dict[str, None] = {}  # recently ended or cancelled contexts (ordered)
        self.late_chunks_dropped = 0

    # --- TtsEngine ------------------------------------------------------------------------------

    async def start(self, emit: Emit) -> None:
        """Connect (so a refused key shows at once); raises :class:`EngineUnavailable` if fatal."""
        self._emit = emit
        await self.socket.open(emit)

    streams_text = True
    """:meth:`synthesize` also takes the pieces of a reply still being written (an LLM's): they
    go into one context as they come (``continue: true``), an empty last one ends it."""

    async def synthesize(self, reply: int, text: str | AsyncIterable[str]) -> AsyncIterator[TtsChunk]:
        """Stream one reply's audio; raises :class:`TtsError` if this reply fails. ``text`` is
        the whole reply, or an async iterable of its pieces as they are written."""
        ctx = _Context(reply, f"vc-{uuid.uuid4().hex[:16]}-r{reply}")
        self._contexts[ctx.context_id] = ctx
        self._by_reply[reply] = ctx
        sender: asyncio.Task[None] | None = None
        try:
            await self._ensure_connected()
            if isinstance(text, str):
                pieces = split_text(text) or [text]
                for i, piece in enumerate(pieces):
                    if ctx.cancelled:
                        return
                    if not await self.socket.send(tts_request(self.format, ctx.context_id, piece, more=i < len(pieces) - 1)):
                        raise TtsError("the connection to Cartesia TTS dropped while sending the text")
            else:
                sender = asyncio.ensure_future(self._send_pieces(ctx, text))
            pending_words: tuple[WordTiming, ...] = ()
            produced = False
            while True:
                try:
                    # Only a wait needs the timeout (wait_for costs a task and a timer per message).
                    if ctx.queue.empty():
                        kind, value = await asyncio.wait_for(ctx.queue.get(), self.reply_timeout_s)
                    else:
                        kind, value = ctx.queue.get_nowait()
                except asyncio.TimeoutError:
                    await self.socket.send(tts_cancel(ctx.context_id))
                    raise TtsError(f"no answer from Cartesia TTS for {self.reply_timeout_s:g} s") from None
                if ctx.cancelled or kind == "cancelled":
                    return
                if kind == "audio":
                    produced = True
                    yield TtsChunk(value, pending_words)
                    pending_words = ()
                elif kind == "words":
                    pending_words += value
                elif kind == "done":
                    if pending_words and produced:
                        yield TtsChunk(np.zeros(0, dtype=np.float32), pending_words)
                    return
                else:  # "error"
                    raise TtsError(value)
        finally:
            if sender is not None and not sender.done():
                sender.cancel()
            self._forget(ctx)

    async def _send_pieces(self, ctx: _Context, pieces: AsyncIterable[str]) -> None:
        """Send each piece into the reply's context as it is written, then end the context."""
        dropped = "the connection to Cartesia TTS dropped while sending the text"
        async for piece in pieces:
            if ctx.cancelled:
                return
            if piece and not await self.socket.send(tts_request(self.format, ctx.context_id, piece, more=True)):
                ctx.queue.put_nowait(("error", dropped))
                return
        if not ctx.cancelled and not await self.socket.send(tts_request(self.format, ctx.context_id, "", more=False)):
            ctx.queue.put_nowait(("error", dropped))

    async def cancel(self, reply: int) -> None:
        """Cancel the reply's context on the server; its queued and late audio are dropped."""
        ctx = self._by_reply.get(reply)
        if ctx is None or ctx.cancelled:
            return
        ctx.cancelled = True
        ctx.queue.put_nowait(("cancelled", None))
        self._remember(ctx.context_id)
        await self.socket.send(tts_cancel(ctx.context_id))

    async def close(self) -> None:
        """Close the socket (TTS has no close command)."""
        for ctx in list(self._contexts.values()):
            ctx.queue.put_nowait(("error", "the TTS engine closed"))
        await self.socket.close(None)

    # --- plumbing --------------------------------------------------------------------------------

    async def _ensure_connected(self) -> None:
        if self.socket.connected:
            return
        if self.socket.fatal is not None:
            raise TtsError(f"Cartesia TTS is unavailable: {self.socket.fatal.message}")
        if self.socket.state == "reconnecting":
            if await self.socket.wait_restored(self.reply_timeout_s):
                return
            raise TtsError("Cartesia TTS is reconnecting; this reply was skipped")
        try:
            await self.socket.reopen()
        except ConnectError as exc:
            raise TtsError(f"cannot reconnect to Cartesia TTS: {exc.message}") from None

    def _forget(self, ctx: _Context) -> None:
        self._contexts.pop(ctx.context_id, None)
        if self._by_reply.get(ctx.reply) is ctx:
            del self._by_reply[ctx.reply]
        self._remember(ctx.context_id)

    def _remember(self, context_id: str) -> None:
        self._finished[context_id] = None
        while len(self._finished) > _RECENT_CONTEXTS:
            del self._finished[next(iter(self._finished))]

    def _route(self, context_id: str | None, item: tuple[str, Any]) -> None:
        ctx = self._contexts.get(context_id or "")
        if ctx is None or ctx.cancelled:
            if context_id in self._finished or (ctx is not None and ctx.cancelled):
                self.late_chunks_dropped += 1  # late audio of a cancelled or finished reply
            else:
                self.socket.warn(f"message for unknown context {context_id!r} ignored")
            return
        ctx.queue.put_nowait(item)

    # --- SocketHooks -----------------------------------------------------------------------------

    async def on_open(self, ws: ClientConnection) -> None:
        """The TTS socket is ready once the handshake is done."""

    def on_message(self, message: str | bytes) -> None:
        """Route one server message to its reply."""
        try:
            decoded = decode_tts_message(message)
        except ProtocolError as exc:
            self.socket.warn(f"ignored a server message: {exc}")
            return
        if isinstance(decoded, AudioChunk):
            if decoded.data:
                self._route(decoded.context_id, ("audio", pcm16_to_float(decoded.data)))
            if decoded.done:
                self._route(decoded.context_id, ("done", None))
        elif isinstance(decoded, Timestamps):
            self._route(decoded.context_id, ("words", decoded.words))
        elif isinstance(decoded, Done):
            self._route(decoded.context_id, ("done", None))
        elif isinstance(decoded, FlushDone):
            pass
        elif isinstance(decoded, ErrorMessage):
            self._on_error(decoded)
        elif isinstance(decoded, Unknown):
            self.socket.warn(f"unknown message type {decoded.type!r} ignored")
        else:
            self.socket.warn(f"unexpected {type(decoded).__name__} message ignored")

    def _on_error(self, error: ErrorMessage) -> None:
        status = f" (HTTP {error.status})" if error.status else ""
        text = f"{error.message}{status}"
        if error.context_id is not None and error.context_id in self._contexts:
            self._route(error.context_id, ("error", text))
            return
        # Not tied to a reply we know: show it, and fail the replies waiting (they would hang).
        fatal = error.status in (401, 403)
        self.socket.error(text, AUTH_HINT if fatal else "check --tts-model, --voice and --tts-sample-rate", fatal=fatal,
                          code=error.code or str(error.status or ""))
        for ctx in list(self._contexts.values()):
            ctx.queue.put_nowait(("error", text))

    def on_lost(self, error: CartesiaError) -> None:
        """Fail the replies in flight: their audio cannot be recovered from a new socket."""
        for ctx in list(self._contexts.values()):
            ctx.queue.put_nowait(("error", f"Cartesia TTS {error}; the reply was cut"))

    async def on_restored(self) -> None:
        """Nothing to replay: the next reply uses the new socket."""


__all__ = ["CartesiaTts"]
