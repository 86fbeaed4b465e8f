"""The websocket shell shared by the Cartesia engines: connect, keep alive, reconnect, report.

:class:`CartesiaSocket` owns one logical connection. It sends the key only in the
``X-API-Key`` header, turns handshake failures into typed errors (401/403 fatal, 429 backed
off, 5xx and network faults retried), keeps the connection alive with pings (a server that
stops answering is dropped after ``ping_timeout``), reconnects with exponential backoff and
jitter after an unexpected close, and reports every step as ``engine.state`` /
``engine.error`` / ``engine.warning`` events. What a drop means for audio and turns is the
engine's business: it is told through :class:`SocketHooks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from voiceconsole import __version__
from voiceconsole.engines.base import Emit
from voiceconsole.engines.cartesia.errors import (
    CartesiaError,
    ConnectError,
    ConnectionLost,
    NetworkError,
    RateLimited,
    RejectedError,
)
from voiceconsole.engines.cartesia.handshake import (
    AUTH_HINT,
    closed_error,
    describe,
    final_hint,
    status_error,
)
from voiceconsole.engines.cartesia.protocol import (
    RetryPolicy,
    auth_headers,
    backoff_delay,
    close_disposition,
    safe_url,
)
from voiceconsole.errors import EngineUnavailable
from voiceconsole.events import EngineError, EngineRole, EngineState, EngineWarning
from voiceconsole.secrets import display_text

# websockets logs handshake headers (the key among them) at DEBUG: this logger never does.
_WS_LOG = logging.getLogger("voiceconsole.cartesia.websocket")
_WS_LOG.setLevel(logging.INFO)


SocketState = Literal["idle", "connecting", "connected", "reconnecting", "closing", "closed", "failed"]


@dataclass(frozen=True)
class Timeouts:
    """Network timing, all in real seconds."""

    open_s: float = 10.0
    """Longest wait for the websocket handshake (and the ``connected`` message, where sent)."""
    ping_interval_s: float = 10.0
    """Keepalive: a ping after this much quiet."""
    ping_timeout_s: float = 10.0
    """Keepalive: a server that does not answer a ping within this is dropped."""
    close_s: float = 2.0
    """Longest wait for the server's close frame."""
    drain_s: float = 5.0
    """On close: longest wait for the server to flush its last messages and close (together
    with ``close_s`` well inside the session's 10 s allowance for closing the STT engine)."""


class SocketHooks(Protocol):
    """What the engine does at each step of the connection's life."""

    async def on_open(self, ws: ClientConnection) -> None:
        """Right after the handshake, before the socket counts as connected (may read messages)."""
        ...

    def on_message(self, message: str | bytes) -> None:
        """A message arrived (on the event loop, in order)."""
        ...

    def on_lost(self, error: CartesiaError) -> None:
        """The connection dropped unexpectedly; a reconnect follows unless it was fatal."""
        ...

    async def on_restored(self) -> None:
        """A reconnect succeeded (the socket is connected again)."""
        ...


class CartesiaSocket:
    """One reconnecting websocket to a Cartesia endpoint.

    ``url`` is called for every attempt so reconnects use the settings in force (e.g. retuned
    turn thresholds). Use: ``await open(emit)``, ``await send(...)``, ``await close(...)``.
    """

    def __init__(
        self,
        *,
        url: Callable[[], str],
        api_key: str,
        role: EngineRole,
        engine: str,
        hooks: SocketHooks,
        policy: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._url = url
        self._headers = auth_headers(api_key)
        self.role: EngineRole = role
        self.engine = engine
        self._hooks = hooks
        self.policy = policy or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self._rng = rng or random.Random()
        self._emit: Emit | None = None
        self._ws: ClientConnection | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._closing = False
        self._restored = asyncio.Event()
        self.state: SocketState = "idle"
        self.warnings = 0
        """Odd server messages seen so far (each reported as an ``engine.warning``)."""
        self.connections = 0
        """Successful connections (1 plus the reconnects)."""
        self.fatal: ConnectError | None = None
        self.detail = ""
        """Set by the engine's ``on_open`` (e.g. the server's ``request_id``): shown with ``connected``."""

    # --- reporting ----------------------------------------------------------------------------

    def bind(self, emit: Emit) -> None:
        """Report through ``emit`` from now on."""
        self._emit = emit

    def _state(self, state: SocketState, detail: str = "") -> None:
        self.state = state
        if self._emit is not None and state in ("connecting", "connected", "reconnecting", "closed", "failed"):
            self._emit(EngineState, role=self.role, engine=self.engine, state=state, detail=display_text(detail))

    def error(self, message: str, hint: str = "", *, fatal: bool = False, code: str = "") -> None:
        """Show an error where the user looks (an ``engine.error`` event); server text in it is
        capped, escaped and scrubbed of keys (:func:`~voiceconsole.secrets.display_text`)."""
        if self._emit is not None:
            self._emit(
                EngineError, role=self.role, engine=self.engine, message=display_text(message),
                hint=display_text(hint), fatal=fatal, code=display_text(code, 64),
            )

    def warn(self, message: str) -> None:
        """Count and show something odd but survivable (an ``engine.warning`` event)."""
        self.warnings += 1
        if self._emit is not None:
            self._emit(EngineWarning, role=self.role, engine=self.engine, message=display_text(message), count=self.warnings)

    @property
    def connected(self) -> bool:
        """Whether messages can be sent now."""
        return self.state == "connected" and self._ws is not None

    @property
    def where(self) -> str:
        """The endpoint, safe to show (no query)."""
        return safe_url(self._url())

    # --- opening ------------------------------------------------------------------------------

    async def open(self, emit: Emit) -> None:
        """First connection: retried ``policy.start_attempts`` times, then :class:`EngineUnavailable`.

        A refused key (or any non-retryable failure) is reported once, as a fatal error, and
        never retried.
        """
        self.bind(emit)
        self._closing = False
        self._state("connecting", self.where)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._connect()
                return
            except ConnectError as exc:
                if not exc.retryable or attempt >= self.policy.start_attempts:
                    self._fail(exc)
                    hint = final_hint(exc)
                    error = EngineUnavailable(f"{self.engine}: {exc.message}" + (f"; {hint}" if hint else ""))
                    error.reported = True  # the engine.error is out already
                    raise error from None
                delay = self._delay(exc, attempt)
                self._state("reconnecting", f"{exc.message}; retry {attempt} in {delay:.1f} s")
                await asyncio.sleep(delay)

    async def reopen(self) -> None:
        """Connect again after the server closed normally (lazy reconnect); raises :class:`ConnectError`."""
        if self.connected or self.fatal is not None:
            if self.fatal is not None:
                raise self.fatal
            return
        if self._reconnector is not None and not self._reconnector.done():
            await self.wait_restored(self.timeouts.open_s * self.policy.start_attempts)
            return
        self._state("connecting", self.where)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._connect()
                return
            except ConnectError as exc:
                if not exc.retryable or attempt >= self.policy.start_attempts:
                    if not exc.retryable:
                        self._fail(exc)
                    else:
                        self._state("closed", exc.message)
                    raise
                await asyncio.sleep(self._delay(exc, attempt))

    async def wait_restored(self, timeout: float) -> bool:
        """Wait until connected (True) or ``timeout`` seconds pass or the socket fails (False)."""
        if self.connected:
            return True
        if self.state in ("failed", "closed", "idle"):
            return False
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._restored.wait(), timeout)
        return self.connected

    def _delay(self, exc: ConnectError, attempt: int) -> float:
        delay = backoff_delay(self.policy, attempt, self._rng)
        if isinstance(exc, RateLimited):
            delay = max(delay, self.policy.rate_limit_min_s, min(exc.retry_after or 0.0, self.policy.retry_after_max_s))
        return delay

    async def _connect(self) -> None:
        url = self._url()
        shown = safe_url(url)
        try:
            ws = await connect(
                url,
                additional_headers=self._headers,
                user_agent_header=f"voiceconsole/{__version__}",
                compression=None,
                open_timeout=self.timeouts.open_s,
                ping_interval=self.timeouts.ping_interval_s,
                ping_timeout=self.timeouts.ping_timeout_s,
                close_timeout=self.timeouts.close_s,
                max_size=16 * 1024 * 1024,
                logger=_WS_LOG,
                proxy=None if _is_loopback(url) else True,
            )
        except InvalidStatus as exc:
            raise status_error(exc, shown) from None
        except InvalidURI:
            raise RejectedError(f"{shown} is not a valid websocket URL", hint="check --stt-url / --tts-url") from None
        except (OSError, asyncio.TimeoutError, TimeoutError, InvalidHandshake) as exc:
            raise NetworkError(f"cannot reach {shown} ({describe(exc)})", hint="check the network and --stt-url / --tts-url") from None
        try:
            await asyncio.wait_for(self._hooks.on_open(ws), self.timeouts.open_s)
        except BaseException as exc:
            await _abort(ws)
            if isinstance(exc, asyncio.TimeoutError):
                raise NetworkError(f"{shown} accepted the connection but never said it was ready") from None
            if isinstance(exc, ConnectionClosed):
                raise closed_error(exc, shown) from None
            raise
        self._ws = ws
        self.connections += 1
        self._restored.set()
        self._state("connected", f"{shown} ({self.detail})" if self.detail else shown)
        self._receiver = asyncio.create_task(self._receive(ws), name=f"{self.engine}-recv")

    # --- running ------------------------------------------------------------------------------

    async def send(self, data: str | bytes) -> bool:
        """Send one message; False (never an exception) when not connected or the send failed."""
        ws = self._ws
        if ws is None or self.state != "connected":
            return False
        try:
            async with self._send_lock:
                await ws.send(data)
            return True
        except ConnectionClosed:
            return False

    async def _receive(self, ws: ClientConnection) -> None:
        ended: ConnectionClosed | None = None
        try:
            while True:
                message = await ws.recv()
                try:
                    self._hooks.on_message(message)
                except Exception as exc:  # a bug in handling one message must not stop the stream
                    logging.getLogger(__name__).exception("handling a %s message failed", self.engine)
                    self.warn(f"could not handle a server message ({type(exc).__name__})")
        except ConnectionClosed as closed:
            ended = closed
        code, reason = ws.close_code, ws.close_reason or ""
        if ended is not None and ended.rcvd is None and ended.sent is not None and ended.sent.code == 1011:
            # websockets closes with 1011 itself when a keepalive ping goes unanswered.
            code, reason = 1011, "the server stopped answering keepalive pings"
        if self._ws is ws:
            self._ws = None
        if self._closing:
            return
        self._restored.clear()
        lost = ConnectionLost(code, reason)
        with contextlib.suppress(Exception):
            self._hooks.on_lost(lost)
        disposition = close_disposition(code)
        if disposition == "fatal":
            self._fail(RejectedError(f"the server closed the stream: {lost}", hint="check the model, encoding and sample rate"))
            return
        self._reconnector = asyncio.create_task(self._reconnect(lost), name=f"{self.engine}-reconnect")

    async def _reconnect(self, lost: ConnectionLost) -> None:
        attempt = 0
        cause: CartesiaError = lost
        while not self._closing:
            attempt += 1
            exc_delay = self._delay(cause, attempt) if isinstance(cause, ConnectError) else backoff_delay(self.policy, attempt, self._rng)
            self._state("reconnecting", f"{cause}; retry {attempt} in {exc_delay:.1f} s")
            await asyncio.sleep(exc_delay)
            if self._closing:
                return
            try:
                await self._connect()
            except ConnectError as exc:
                if not exc.retryable:
                    self._fail(exc)
                    return
                cause = exc
                continue
            try:
                await self._hooks.on_restored()
            except Exception:
                logging.getLogger(__name__).exception("restoring the %s stream failed", self.engine)
            return

    def _fail(self, exc: ConnectError) -> None:
        self.fatal = exc
        self.error(exc.message, final_hint(exc), fatal=True, code=str(exc.status or ""))
        self._state("failed", exc.message)
        self._restored.set()  # wake waiters: they find the socket failed

    # --- closing ------------------------------------------------------------------------------

    async def close(self, command: str | bytes | None = None, *, drain: bool = True) -> None:
        """Send ``command`` (if any), wait for the server to flush and close, then release.

        ``drain`` waits up to ``timeouts.drain_s`` for the server to close the stream itself
        (every message before that is handled); otherwise the client closes at once.
        """
        if self.state in ("closed", "idle") and self._ws is None and self._reconnector is None:
            return
        reconnector, self._reconnector = self._reconnector, None
        ws = self._ws
        self._closing = True
        if reconnector is not None and not reconnector.done():
            reconnector.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reconnector
        if ws is not None and self.state == "connected":
            self.state = "closing"
            sent = False
            if command is not None:
                try:
                    async with self._send_lock:
                        await ws.send(command)
                    sent = True
                except ConnectionClosed:
                    pass
            if sent and drain and self._receiver is not None:
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.shield(self._receiver), self.timeouts.drain_s)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), self.timeouts.close_s)
        if self._receiver is not None:
            if not self._receiver.done():
                self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._receiver
            self._receiver = None
        self._ws = None
        if self.state != "failed":
            self._state("closed")


async def _abort(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(), 1.0)


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


__all__ = ["AUTH_HINT", "CartesiaSocket", "SocketHooks", "Timeouts"]
