"""Cartesia Ink-2 turns STT (``--stt cartesia-turns``): ``/stt/turns/websocket``.

The server detects turns and sends ``turn.*`` events without timestamps or turn numbers: the
session stamps each one as it arrives and a :class:`TurnSequencer` numbers the turns and keeps
their order. ``send_audio`` only hands the block to the socket (it never waits for answers),
so in fast runs the stamps show arrival relative to the audio sent so far.

Faults: a turn open when the connection drops is closed at once with its last transcript (no
completed transcript is lost; the rest of that utterance arrives as a new turn after the
reconnect). Audio captured during the outage is dropped, and counted in a warning, when the
connection is back (sent late it would be a burst faster than real time); see :mod:`.streamer`.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection

from voiceconsole.engines.base import Emit, TurnSettings
from voiceconsole.engines.cartesia.errors import (
    AuthError,
    CartesiaError,
    ProtocolError,
    RejectedError,
    ServerError,
)
from voiceconsole.engines.cartesia.protocol import (
    TURNS_PATH,
    Connected,
    ErrorMessage,
    RetryPolicy,
    TurnMessage,
    Unknown,
    decode_turns_message,
    turns_close_command,
    turns_config_command,
    turns_query,
)
from voiceconsole.engines.cartesia.socket import AUTH_HINT, Timeouts
from voiceconsole.engines.cartesia.stt_base import CartesiaSttBase
from voiceconsole.engines.turns import TurnSequencer


class CartesiaTurnsStt(CartesiaSttBase):
    """Ink-2 turn-based STT over one reconnecting websocket."""

    path = TURNS_PATH
    name = "cartesia-turns"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "wss://api.cartesia.ai",
        model: str = "ink-2",
        encoding: str = "pcm_s16le",
        sample_rate: int = 16000,
        turn_settings: TurnSettings | None = None,
        policy: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        outage_buffer_s: float = 5.0,
        idle_after_s: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key, base_url=base_url, model=model, encoding=encoding, sample_rate=sample_rate,
            turn_settings=turn_settings, policy=policy, timeouts=timeouts,
            outage_buffer_s=outage_buffer_s, idle_after_s=idle_after_s, rng=rng,
        )
        self.request_id = ""
        self.explicit_turn: frozenset[str] | None = None
        """The turn tuning query names the user set (None: all); the server's defaults apply to
        the others."""

    def _query(self) -> list[tuple[str, Any]]:
        return turns_query(
            self.model, self.encoding, self.sample_rate, self._turn, explicit=self.explicit_turn, keyterms=self.keyterms
        )

    # --- SttEngine ------------------------------------------------------------------------------

    async def start(self, emit: Emit) -> None:
        """Connect and wait for ``connected``; a refused key raises :class:`EngineUnavailable`."""
        self._emit = emit
        self._turns = TurnSequencer(emit)
        await self.socket.open(emit)
        self.streamer.start_watchdog()

    async def send_audio(self, samples: np.ndarray) -> None:
        """Hand the block to the socket (held during an outage); never waits for the server."""
        await self.streamer.send(samples)

    async def update_turn_settings(self, settings: TurnSettings) -> None:
        """Retune turn detection: a ``config`` command now, and the query of any reconnect."""
        settings.validate()
        self._turn = settings
        self.explicit_turn = None  # retuned by the user: every value is theirs, reconnects too
        await self.socket.send(turns_config_command(settings))

    async def close(self) -> None:
        """Send ``close``, let the server flush its last events, then end a turn left open."""
        await self.streamer.stop_watchdog()
        if self.socket.connected:
            await self.streamer.replay()
        else:
            self.streamer.discard()
        await self.socket.close(turns_close_command())
        if self._turns is not None and self._turns.open:
            self._turns.end(None)

    # --- SocketHooks ----------------------------------------------------------------------------

    async def on_open(self, ws: ClientConnection) -> None:
        """Wait for ``connected``; an ``error`` instead becomes a typed connect error."""
        while True:
            message = await ws.recv()
            try:
                decoded = decode_turns_message(message)
            except ProtocolError as exc:
                self.socket.warn(f"before connected: {exc}")
                continue
            if isinstance(decoded, Connected):
                self.request_id = decoded.request_id
                if decoded.request_id:  # users quote it to support: the connected state shows it
                    self.socket.detail = f"request_id {decoded.request_id}"
                return
            if isinstance(decoded, ErrorMessage):
                raise _handshake_error(decoded)
            self.socket.warn(f"message before connected ignored: {_kind(decoded)}")

    def on_message(self, message: str | bytes) -> None:
        """Dispatch one server message (stamped by the session's emit as it arrives)."""
        turns = self._turns
        assert turns is not None
        try:
            decoded = decode_turns_message(message)
        except ProtocolError as exc:
            self.socket.warn(f"ignored a server message: {exc}")
            return
        if isinstance(decoded, TurnMessage):
            kind, text = decoded.kind, decoded.transcript
            if kind == "start":
                turns.start()
            elif kind == "update":
                turns.update(text if text is not None else turns.transcript)
            elif kind == "eager_end":
                turns.eager_end(text)
            elif kind == "resume":
                turns.resume()
            else:
                turns.end(text)
        elif isinstance(decoded, ErrorMessage):
            fatal = decoded.status in (401, 403)
            self.socket.error(
                decoded.message,
                AUTH_HINT if fatal else _error_hint(decoded),
                fatal=fatal,
                code=decoded.code or str(decoded.status or ""),
            )
        elif isinstance(decoded, Connected):
            self.request_id = decoded.request_id
        elif isinstance(decoded, Unknown):
            self.socket.warn(f"unknown message type {decoded.type!r} ignored")
        else:
            self.socket.warn(f"unexpected {_kind(decoded)} message ignored")

    def on_lost(self, error: CartesiaError) -> None:
        """Close a turn in flight with its last transcript, so nothing heard is lost."""
        if self._turns is not None and self._turns.open:
            self._turns.end(None)

    async def on_restored(self) -> None:
        """Drop the audio captured during the outage (with a warning saying how much)."""
        await self.streamer.replay()


def _kind(message: object) -> str:
    return type(message).__name__


def _error_hint(error: ErrorMessage) -> str:
    if error.status == 429:
        return "rate limited: fewer concurrent sessions, or wait"
    if error.status is not None and error.status >= 500:
        return "a server-side fault"
    return "check --stt-model, --stt-encoding and --stt-sample-rate"


def _handshake_error(error: ErrorMessage) -> CartesiaError:
    if error.status in (401, 403):
        return AuthError(f"the Cartesia API key was refused: {error.message}", hint=AUTH_HINT, status=error.status)
    if error.status is not None and (error.status >= 500 or error.status == 429):
        return ServerError(f"server error: {error.message}", hint="retrying with backoff", status=error.status)
    return RejectedError(f"the server refused the stream: {error.message}", hint=_error_hint(error), status=error.status)


__all__ = ["CartesiaTurnsStt"]
