"""The LLM responder's stage: streamed replies, speculation on eager end, truthful history.

Turn events drive it (:meth:`LlmStage.on_event`, called for every event the session emits):

* ``turn.eager_end`` (with ``--speculate llm`` or ``llm+tts``): start a *speculative* request
  with the transcript so far. Its text is kept back; with ``llm+tts`` its speech is synthesized
  too but held off the speaker.
* ``turn.resume``: cancel it (the HTTP stream is closed, a TTS reply cancelled): wasted.
* ``turn.end`` with the same transcript: commit it (``llm.commit``; no second request); the
  reply, and with ``llm+tts`` its audio, is already under way. With a changed transcript, or
  none started: cancel and start a committed request.
* ``command.interrupt``: cancel every request in flight.

A committed request's reply is queued for speech at its first token and its pieces (sentences,
clauses) are spoken as they arrive. The history (:class:`Conversation`) gets the user's words on
commit and the reply's words as the user heard them: a barge-in cuts the reply at the playback
position, by the TTS word timings.

The stage never stops the session: a failure is ``llm.failed`` plus an ``engine.error`` banner
saying what to do, and the next turn tries again (after a refused key, it does not).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from voiceconsole.clock import Clock
from voiceconsole.engines.base import Emit, TtsEngine
from voiceconsole.engines.llm.chunker import TextChunker
from voiceconsole.engines.llm.client import LlmError
from voiceconsole.engines.llm.history import Conversation
from voiceconsole.events import (
    EngineError,
    Event,
    InterruptCommand,
    LlmCancelled,
    LlmCommitted,
    LlmDone,
    LlmFailed,
    LlmFirstToken,
    LlmRequest,
    PlaybackInterrupted,
    PlaybackStarted,
    TtsCancelled,
    TtsDone,
    TtsWordTimings,
    TurnEagerEnd,
    TurnEnd,
    TurnResume,
)
from voiceconsole.secrets import display_text
from voiceconsole.session.replies import ReplyStages, TextStream

log = logging.getLogger(__name__)

SPECULATE_MODES = ("off", "llm", "llm+tts")


class ChatStreamer(Protocol):
    """What the stage needs of a chat client (:class:`~voiceconsole.engines.llm.client.ChatClient`)."""

    def stream(self, messages: list[dict[str, str]]) -> Any:
        """An async iterator of the reply's text deltas; raises ``LlmError``."""
        ...

    async def close(self) -> None:
        """Release the connections."""
        ...


@dataclass(eq=False)
class _Attempt:
    request: int
    turn: int
    transcript: str
    speculative: bool
    started_t: float
    committed: bool = False
    task: asyncio.Task[None] | None = None
    chunker: TextChunker = field(default_factory=TextChunker)
    text: str = ""
    pieces: list[str] = field(default_factory=list)
    tokens: int = 0
    first_token: bool = False
    finished: bool = False
    failed: bool = False
    closed: bool = False  # cancelled
    stream: TextStream | None = None
    reply: int | None = None


def same_transcript(a: str, b: str) -> bool:
    """Whether two transcripts ask the same thing (case, spacing and end punctuation aside)."""

    def norm(text: str) -> str:
        return " ".join(text.lower().split()).rstrip(".?!,;: ")

    return norm(a) == norm(b)


class LlmStage:
    """Runs the LLM requests of a session; see the module docstring."""

    def __init__(
        self,
        *,
        client: ChatStreamer,
        model: str,
        conversation: Conversation,
        speculate: str,
        replies: ReplyStages,
        tts: TtsEngine,
        clock: Clock,
        emit: Emit,
        spawn: Callable[[Any], None],
        stopping: Callable[[], bool],
    ) -> None:
        if speculate not in SPECULATE_MODES:
            raise ValueError(f"speculate must be one of {', '.join(SPECULATE_MODES)}")
        self.client = client
        self.model = model
        self.conversation = conversation
        self.speculate = speculate
        self.replies = replies
        self.tts = tts
        self.clock = clock
        self.emit = emit
        self.spawn = spawn
        self.stopping = stopping
        self.fatal: LlmError | None = None
        self._next_request = 0
        self._live: dict[
            int, _Attempt
        ] = {}  # turn -> its attempt not yet ended or cancelled
        self._running: set[_Attempt] = set()
        self._tasks: set[asyncio.Task[None]] = (
            set()
        )  # every request task, until it has ended
        self._by_reply: dict[
            int, int
        ] = {}  # reply -> request number (committed replies)
        self._started: set[int] = set()  # replies heard from their first sample

    @property
    def busy(self) -> bool:
        """Whether a request is streaming."""
        return bool(self._running)

    # --- events in ------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """React to one event of the session (most are ignored at once)."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return
        try:
            handler(self, event)
        except (
            Exception
        ) as exc:  # a bug here must not stop the engine that emitted the event
            log.exception("LLM stage failed on %s", event.type)
            self.emit(
                EngineError,
                role="responder",
                engine="llm",
                message=display_text(f"{type(exc).__name__}: {exc}"),
                hint="see the log; the next turn tries again",
            )

    def _on_eager(self, e: TurnEagerEnd) -> None:
        if self.speculate == "off" or self.stopping() or self.fatal is not None:
            return
        transcript = e.transcript.strip()
        if not transcript:
            return
        live = self._live.get(e.turn)
        if live is not None:
            if same_transcript(live.transcript, transcript) and not live.failed:
                return
            self._cancel(live, "changed")
        self._start(e.turn, transcript, speculative=True)

    def _on_resume(self, e: TurnResume) -> None:
        live = self._live.get(e.turn)
        if live is not None and not live.committed:
            self._cancel(live, "resume")

    def _on_end(self, e: TurnEnd) -> None:
        live = self._live.pop(e.turn, None)
        transcript = e.transcript.strip()
        if (
            live is not None
            and transcript
            and same_transcript(live.transcript, transcript)
            and not live.failed
        ):
            self._commit(live)
            return
        if live is not None:
            self._cancel(live, "changed")
        if not transcript or self.stopping():
            return
        if self.fatal is not None:
            self.emit(
                LlmFailed,
                request=0,
                turn=e.turn,
                message=self.fatal.message,
                hint=self.fatal.hint,
                fatal=True,
            )
            return
        attempt = self._start(e.turn, transcript, speculative=False)
        self._commit(attempt, announce=False)

    def _on_interrupt(self, e: InterruptCommand) -> None:
        for attempt in list(self._running):
            self._cancel(attempt, "interrupt")
        for attempt in list(self._live.values()):
            self._cancel(attempt, "interrupt")

    def _on_words(self, e: TtsWordTimings) -> None:
        request = self._by_reply.get(e.reply)
        if request is not None:
            self.conversation.add_words(request, e.words)

    def _on_tts_done(self, e: TtsDone) -> None:
        request = self._by_reply.get(e.reply)
        if request is not None:
            self.conversation.set_duration(request, e.duration_s)

    def _on_playback_start(self, e: PlaybackStarted) -> None:
        if e.reply in self._by_reply:
            self._started.add(e.reply)

    def _on_playback_interrupt(self, e: PlaybackInterrupted) -> None:
        request = self._by_reply.get(e.reply)
        if request is not None:
            self.conversation.cut(request, e.samples_played / max(1, e.sample_rate))

    def _on_tts_cancelled(self, e: TtsCancelled) -> None:
        request = self._by_reply.get(e.reply)
        if request is not None and e.reply not in self._started:
            self.conversation.cut(request, 0.0)  # cancelled before a sample was heard

    # --- requests -----------------------------------------------------------------------------

    def _start(self, turn: int, transcript: str, *, speculative: bool) -> _Attempt:
        self._next_request += 1
        attempt = _Attempt(
            self._next_request, turn, transcript, speculative, self.clock.now()
        )
        if speculative:
            self._live[turn] = attempt
        messages = self.conversation.messages(transcript)
        self.emit(
            LlmRequest,
            request=attempt.request,
            turn=turn,
            speculative=speculative,
            messages=len(messages),
            model=self.model,
        )
        self._running.add(attempt)
        attempt.task = asyncio.ensure_future(self._run(attempt, messages))
        self._tasks.add(attempt.task)
        attempt.task.add_done_callback(self._tasks.discard)
        return attempt

    def _commit(self, attempt: _Attempt, *, announce: bool = True) -> None:
        attempt.committed = True
        if announce:
            self.emit(LlmCommitted, request=attempt.request, turn=attempt.turn)
        self.conversation.add_exchange(attempt.request, attempt.transcript)
        self.conversation.set_text(attempt.request, attempt.text)
        if attempt.reply is not None:
            self._by_reply[attempt.reply] = attempt.request
            self.replies.release(attempt.reply)
        elif attempt.first_token and not attempt.failed:
            self._open_reply(attempt, held=False)

    def _open_reply(self, attempt: _Attempt, *, held: bool) -> None:
        stream = TextStream()
        for piece in attempt.pieces:
            stream.push(piece)
        if attempt.finished:
            stream.close()
        attempt.stream = stream
        attempt.reply = self.replies.queue_stream(
            stream, "responder", attempt.turn, held=held
        )
        if attempt.committed:
            self._by_reply[attempt.reply] = attempt.request

    def _cancel(self, attempt: _Attempt, reason: str) -> None:
        if attempt.closed:
            return
        attempt.closed = True
        if self._live.get(attempt.turn) is attempt:
            del self._live[attempt.turn]
        streaming = attempt.task is not None and not attempt.task.done()
        if streaming:
            attempt.task.cancel()  # type: ignore[union-attr]
        self._running.discard(attempt)
        if streaming or not attempt.committed:
            self.emit(
                LlmCancelled,
                request=attempt.request,
                turn=attempt.turn,
                reason=reason,
                speculative=attempt.speculative,
                tokens=attempt.tokens,
            )
        if attempt.stream is not None:
            attempt.stream.close()
        if attempt.committed:
            self.conversation.set_text(attempt.request, attempt.text)
        if attempt.reply is not None and self.replies.cancel(attempt.reply):
            self.spawn(self.tts.cancel(attempt.reply))

    async def _run(self, attempt: _Attempt, messages: list[dict[str, str]]) -> None:
        try:
            async with contextlib.aclosing(self.client.stream(messages)) as deltas:
                async for delta in deltas:
                    if attempt.closed:
                        return
                    self._token(attempt, delta)
            for piece in attempt.chunker.flush():
                self._piece(attempt, piece)
        except LlmError as exc:
            self._fail(attempt, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or an odd server must not stop the session
            log.exception("LLM request failed")
            self._fail(
                attempt,
                LlmError(
                    f"LLM request failed: {type(exc).__name__}: {exc}", "see the log"
                ),
            )
            return
        finally:
            self._running.discard(attempt)
        if attempt.closed:
            return
        attempt.finished = True
        if attempt.stream is not None:
            attempt.stream.close()
        if not attempt.text.strip():
            self._fail(
                attempt,
                LlmError(
                    "the LLM returned an empty reply",
                    "check --llm-model and --llm-max-tokens",
                ),
            )
            return
        if attempt.committed:
            self.conversation.set_text(attempt.request, attempt.text)
        self.emit(
            LlmDone,
            request=attempt.request,
            turn=attempt.turn,
            tokens=attempt.tokens,
            text=attempt.text,
        )

    def _token(self, attempt: _Attempt, delta: str) -> None:
        if not attempt.first_token:
            attempt.first_token = True
            self.emit(
                LlmFirstToken,
                request=attempt.request,
                turn=attempt.turn,
                latency_s=self.clock.now() - attempt.started_t,
            )
            if attempt.committed:
                self._open_reply(attempt, held=False)
            elif self.speculate == "llm+tts":
                self._open_reply(attempt, held=True)
        attempt.tokens += 1
        attempt.text += delta
        for piece in attempt.chunker.feed(delta):
            self._piece(attempt, piece)

    def _piece(self, attempt: _Attempt, piece: str) -> None:
        attempt.pieces.append(piece)
        if attempt.stream is not None:
            attempt.stream.push(piece)

    def _fail(self, attempt: _Attempt, exc: LlmError) -> None:
        attempt.failed = True
        attempt.finished = True
        if attempt.stream is not None:
            attempt.stream.close()  # what was spoken stays; nothing more comes
        if attempt.committed:
            self.conversation.set_text(attempt.request, attempt.text)
        if exc.fatal:
            self.fatal = exc
        self.emit(
            LlmFailed,
            request=attempt.request,
            turn=attempt.turn,
            message=exc.message,
            hint=exc.hint,
            fatal=exc.fatal,
            tokens=attempt.tokens,
        )
        self.emit(
            EngineError,
            role="responder",
            engine="llm",
            message=exc.message,
            hint=exc.hint,
            fatal=exc.fatal,
        )

    # --- session plumbing -------------------------------------------------------------------

    async def settle(self) -> None:
        """Wait until no request is streaming (virtual time runs settle after every block)."""
        while self._running:
            tasks = [a.task for a in self._running if a.task is not None]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel what is in flight (reason ``shutdown``) and close the client."""
        for attempt in [*self._running, *self._live.values()]:
            self._cancel(attempt, "shutdown")
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.close(), timeout=5.0)


_HANDLERS: dict[type[Event], Callable[[LlmStage, Any], None]] = {
    TurnEagerEnd: LlmStage._on_eager,
    TurnResume: LlmStage._on_resume,
    TurnEnd: LlmStage._on_end,
    InterruptCommand: LlmStage._on_interrupt,
    TtsWordTimings: LlmStage._on_words,
    TtsDone: LlmStage._on_tts_done,
    PlaybackStarted: LlmStage._on_playback_start,
    PlaybackInterrupted: LlmStage._on_playback_interrupt,
    TtsCancelled: LlmStage._on_tts_cancelled,
}
