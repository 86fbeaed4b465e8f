"""The console's state, built from events only (no textual import, no I/O).

:class:`ConsoleModel` takes events one at a time with :meth:`ConsoleModel.apply` and keeps what
the panels show as plain objects (:mod:`voiceconsole.ui.entries`) in lists and dicts: the
transcript, the timeline's spans, marks and measured gaps, the TTS queue, engine and device
status, errors, and the levels (:mod:`voiceconsole.ui.levels`). :meth:`ConsoleModel.from_events`
rebuilds it from a list, which is how a replay seeks.

Change tracking lives here and nowhere else: every change bumps :attr:`ConsoleModel.version`
and stamps the aspect it touched in :attr:`ConsoleModel.versions` (and a turn or reply entry in
its own ``version``). A widget remembers the versions it drew and compares.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voiceconsole.events import (
    AecErle,
    AecState,
    AudioLevel,
    DeviceState,
    EngineError,
    LlmDone,
    EngineState,
    Event,
    InterruptCommand,
    MuteCommand,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    SayCommand,
    SessionStarted,
    SessionStopped,
    SpeechStarted,
    SpeechStopped,
    TtsCancelled,
    TtsDone,
    TtsFailed,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
    TurnConfigChanged,
    TurnEagerEnd,
    TurnEnd,
    TurnResume,
    TurnStart,
    TurnUpdate,
    VadSignalBatch,
)
from voiceconsole.session.metrics import MetricsBuilder
from voiceconsole.ui.entries import (
    EngineInfo,
    ErrorInfo,
    Mark,
    ReplyEntry,
    Span,
    TurnEntry,
)
from voiceconsole.ui.gaps import GapBook
from voiceconsole.ui.levels import LevelTrack
from voiceconsole.ui.llm_lane import LlmTrack
from voiceconsole.ui.signal import SignalTrack

if TYPE_CHECKING:
    from voiceconsole.session.ghost import GhostRun


@dataclass(slots=True)
class Versions:
    """The model's :attr:`~ConsoleModel.version` when each aspect last changed."""

    turns: int = 0
    """Turn entries and turn marks."""
    replies: int = 0
    """Reply entries, reply marks and commands (interrupt, say, mute)."""
    speech: int = 0
    """The reference VAD's speech spans and the muted stretches."""
    levels: int = 0
    signal: int = 0
    """The offline engine's speech probabilities and turn-rule counters (``vad.signal``)."""
    gaps: int = 0
    metrics: int = 0
    status: int = 0
    """Session, engines, devices, mute and barge-in state."""
    errors: int = 0
    ghost: int = 0
    """The replay's ghost run (:attr:`ConsoleModel.ghost`) and its note."""
    llm: int = 0
    """The LLM responder's requests (:attr:`ConsoleModel.llm`)."""


def _at(mark: Mark) -> float:
    return mark.at


def _start(span: Span) -> float:
    return span.start


class ConsoleModel:
    """Everything the console shows, as plain data. Feed it events with :meth:`apply`."""

    def __init__(self) -> None:
        self.session: SessionStarted | None = None
        self.stopped: SessionStopped | None = None
        self.turn_config: dict[str, Any] | None = None
        """The turn settings of the latest ``turn.config`` (as :meth:`TurnSettings.as_dict`)."""
        self.engines: dict[str, EngineInfo] = {}
        self.devices: dict[str, DeviceState] = {}
        self.errors: list[ErrorInfo] = []
        self.muted = False
        self.auto_barge_in: bool | None = None
        self.turns: dict[int, TurnEntry] = {}
        """Turns by number, in the order they started."""
        self.replies: dict[int, ReplyEntry] = {}
        """Replies by number, in the order they were queued."""
        self.entries: list[TurnEntry | ReplyEntry] = []
        """The transcript: turns and replies in the order they appeared."""
        self._playing: dict[int, ReplyEntry] = {}  # started and not yet finished, in start order
        self.mic = LevelTrack()
        self.speaker = LevelTrack()
        self.mic_raw = LevelTrack()
        """The microphone before echo cancellation (``mic_raw`` levels; empty without AEC)."""
        self.show_raw_mic = False
        """The mic lane also draws :attr:`mic_raw` (key ``a``)."""
        self.signal = SignalTrack()
        """The local engine's ``vad.signal`` batches, one entry per VAD frame."""
        self.last_level: dict[str, AudioLevel] = {}
        self.aec: AecState | None = None
        """Echo cancellation's state (None: the session said nothing, i.e. it is off)."""
        self.erle: AecErle | None = None
        """The latest echo return loss enhancement measured while the bot spoke."""
        self.vad: list[Span] = []
        self.mutes: list[Span] = []
        self.turn_marks: list[Mark] = []
        self.reply_marks: list[Mark] = []
        self.gaps = GapBook()
        """The measured gaps, by key and by timeline row."""
        self.metrics = MetricsBuilder()
        self.llm = LlmTrack()
        """The LLM responder's requests (the LLM lane)."""
        self.ghost: GhostRun | None = None
        """A replay's re-run of the mic with other turn settings (see :mod:`voiceconsole.session.ghost`)."""
        self.ghost_note = ""
        """What the ghost lane says instead of (or before) a run: how to start one, progress, a failure."""
        self.interrupt_audio_t: list[float] = []
        self.now_t = 0.0
        self.now_audio_t = 0.0
        self.events = 0
        self.version = 0
        """Bumped by every change; see :attr:`versions`."""
        self.versions = Versions()

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> ConsoleModel:
        """A model rebuilt from a list of events (e.g. to seek in a replay)."""
        model = cls()
        for event in events:
            model.apply(event)
        return model

    def bump(self) -> int:
        """A new version for a change (callers stamp the aspects it touched)."""
        self.version += 1
        return self.version

    def toggle_raw_mic(self) -> bool:
        """Show the raw mic level in the mic lane, or stop; returns whether it is shown."""
        self.show_raw_mic = not self.show_raw_mic
        self.versions.levels = self.bump()
        return self.show_raw_mic

    def set_ghost(self, run: GhostRun | None, note: str = "") -> None:
        """Show ``run`` (or none) in the ghost lane, with ``note``."""
        self.ghost, self.ghost_note = run, note
        self.versions.ghost = self.bump()

    def add_error(self, error: ErrorInfo) -> None:
        """Show an error that did not come as an event (e.g. the session failed to start)."""
        self.errors.append(error)
        self.versions.errors = self.versions.status = self.bump()

    # --- applying events ------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Update the state with one event."""
        self.events += 1
        if event.t > self.now_t:
            self.now_t = event.t
        if event.audio_t > self.now_audio_t:
            self.now_audio_t = event.audio_t
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        if self.llm.add(event):
            self.versions.llm = self.bump()
            if isinstance(event, LlmDone):
                self._llm_text(event)
        if self.metrics.add(event):
            self.versions.metrics = self.bump()
            if self.gaps.update(event, self.metrics, self.replies, self.interrupt_audio_t):
                self.versions.gaps = self.version

    # session, engines, devices

    def _on_session_start(self, e: SessionStarted) -> None:
        self.session = e
        self.auto_barge_in = bool(e.settings.get("auto_barge_in", True))
        for role, name in (("stt", e.stt), ("tts", e.tts)):
            self.engines.setdefault(role, EngineInfo(role, name))
        self.versions.status = self.bump()

    def _on_turn_config(self, e: TurnConfigChanged) -> None:
        changed = self.turn_config is not None  # the first one is the settings the session started with
        self.turn_config = e.settings
        self.versions.status = version = self.bump()
        if changed:  # marked on the timeline, where its effect on the next turns shows
            self._mark(self.reply_marks, Mark(e.audio_t, "config"))
            self.versions.replies = version

    def _on_session_stop(self, e: SessionStopped) -> None:
        self.stopped = e
        self.versions.status = self.bump()

    def _on_engine_state(self, e: EngineState) -> None:
        info = self.engines.setdefault(e.role, EngineInfo(e.role, e.engine))
        info.engine, info.state, info.detail = e.engine or info.engine, e.state, e.detail
        self.versions.status = self.bump()

    def _on_engine_error(self, e: EngineError) -> None:
        if e.fatal:
            self.engines.setdefault(e.role, EngineInfo(e.role, e.engine)).state = "failed"
        self.add_error(ErrorInfo(e.role, e.engine, e.message, e.hint, e.fatal, e.t))

    def _on_device(self, e: DeviceState) -> None:
        self.devices[e.stream] = e
        self.versions.status = self.bump()

    def _on_aec(self, e: AecState) -> None:
        self.aec = e
        self.versions.status = self.bump()

    def _on_erle(self, e: AecErle) -> None:
        self.erle = e
        self.versions.levels = self.bump()

    def _on_level(self, e: AudioLevel) -> None:
        track = self.mic if e.source == "mic" else self.mic_raw if e.source == "mic_raw" else self.speaker
        track.add(e.audio_t, e.rms_dbfs)
        self.last_level[e.source] = e
        self.versions.levels = self.bump()

    def _on_signal(self, e: VadSignalBatch) -> None:
        if self.signal.add(e):
            self.versions.signal = self.bump()

    # reference VAD and mute

    def _on_speech_start(self, e: SpeechStarted) -> None:
        self.vad.append(Span(e.speech_audio_t))
        self.versions.speech = self.bump()

    def _on_speech_stop(self, e: SpeechStopped) -> None:
        if self.vad and self.vad[-1].end is None:
            self.vad[-1].end = e.speech_audio_t
        else:
            self.vad.append(Span(e.speech_audio_t, e.speech_audio_t))
        self.versions.speech = self.bump()

    def _on_mute(self, e: MuteCommand) -> None:
        self.muted = e.muted
        if e.muted:
            self.mutes.append(Span(e.audio_t))
        elif self.mutes and self.mutes[-1].end is None:
            self.mutes[-1].end = e.audio_t
        self._mark(self.reply_marks, Mark(e.audio_t, "mute" if e.muted else "unmute"))
        self.versions.speech = self.versions.replies = self.versions.status = self.bump()

    # turns

    def _turn_entry(self, e: Event, number: int) -> TurnEntry:
        entry = self.turns.get(number)
        if entry is None:
            entry = self.turns[number] = TurnEntry(number, e.t, e.audio_t)
            self.entries.append(entry)
        entry.version = self.versions.turns = self.bump()
        return entry

    def _mark(self, marks: list[Mark], mark: Mark) -> None:
        if not marks or mark.at >= marks[-1].at:
            marks.append(mark)
        else:  # audio time went back (a replay's events out of order): keep the list sorted
            insort(marks, mark, key=_at)

    def _on_turn_start(self, e: TurnStart) -> None:
        self._turn_entry(e, e.turn)
        self._mark(self.turn_marks, Mark(e.audio_t, "start", str(e.turn)))

    def _on_turn_update(self, e: TurnUpdate) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.text = e.transcript
        if entry.state == "eager":
            entry.state = "open"
            entry.close_eager(e.audio_t)
        self._mark(self.turn_marks, Mark(e.audio_t, "update"))

    def _on_turn_eager(self, e: TurnEagerEnd) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.text = e.transcript or entry.text
        entry.state = "eager"
        entry.close_eager(e.audio_t)
        entry.eager_spans.append(Span(e.audio_t))
        self._mark(self.turn_marks, Mark(e.audio_t, "eager_end"))

    def _on_turn_resume(self, e: TurnResume) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.state = "open"
        entry.resumes += 1
        entry.close_eager(e.audio_t)
        self._mark(self.turn_marks, Mark(e.audio_t, "resume"))

    def _on_turn_end(self, e: TurnEnd) -> None:
        entry = self._turn_entry(e, e.turn)
        entry.text = e.transcript
        entry.state = "ended"
        entry.end_t, entry.end_audio_t = e.t, e.audio_t
        entry.close_eager(e.audio_t)
        self._mark(self.turn_marks, Mark(e.audio_t, "end", str(e.turn)))

    # replies

    def _reply(self, number: int) -> ReplyEntry | None:
        entry = self.replies.get(number)
        if entry is not None:
            entry.version = self.versions.replies = self.bump()
        return entry

    def _reply_mark(self, e: Event, kind: str, label: str = "") -> None:
        self._mark(self.reply_marks, Mark(e.audio_t, kind, label))
        self.versions.replies = self.bump()

    def _llm_text(self, e: LlmDone) -> None:
        # A streamed reply is queued before its text is known: it gets the text when done.
        for entry in reversed(self.entries):
            if isinstance(entry, ReplyEntry) and entry.turn == e.turn and entry.origin == "responder":
                if not entry.text:
                    entry.text = e.text
                    entry.version = self.version
                    self.versions.replies = self.version
                return

    def _on_queued(self, e: TtsQueued) -> None:
        entry = self.replies[e.reply] = ReplyEntry(e.reply, e.text, e.origin, e.turn, e.t, e.audio_t)
        self.entries.append(entry)
        self._reply_mark(e, "queued", str(e.reply))
        entry.version = self.version

    def _on_request(self, e: TtsRequestSent) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.request_t, entry.request_audio_t = e.t, e.audio_t
            self._reply_mark(e, "request")

    def _on_first_audio(self, e: TtsFirstAudio) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.first_audio_t, entry.first_audio_audio_t = e.t, e.audio_t
            entry.ttfa_s = e.latency_s
            self._reply_mark(e, "first_audio")

    def _on_words(self, e: TtsWordTimings) -> None:
        entry = self._reply(e.reply)
        if entry is not None and not (entry.play_end_t is not None and not entry.interrupted):
            entry.words.extend(e.words)

    def _on_tts_done(self, e: TtsDone) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.synth_done = True
            entry.duration_s = e.duration_s

    def _on_cancelled(self, e: TtsCancelled) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.cancelled = True

    def _on_failed(self, e: TtsFailed) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.failed = e.message or "failed"
            entry.synth_done = True

    def _on_play_start(self, e: PlaybackStarted) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.play_start_t, entry.play_start_audio_t = e.t, e.audio_t
            self._playing.pop(e.reply, None)
            self._playing[e.reply] = entry

    def _on_play_finish(self, e: PlaybackFinished) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.play_end_t, entry.play_end_audio_t = e.t, e.audio_t
            entry.played_s = e.samples_played / e.sample_rate if e.sample_rate else None
            self._playing.pop(e.reply, None)
            entry.words = []  # heard in full: the timings are no longer needed

    def _on_play_interrupt(self, e: PlaybackInterrupted) -> None:
        entry = self._reply(e.reply)
        if entry is not None:
            entry.play_end_t, entry.play_end_audio_t = e.t, e.audio_t
            entry.played_s = e.samples_played / e.sample_rate if e.sample_rate else None
            entry.interrupted = True
            self._playing.pop(e.reply, None)
            self._reply_mark(e, "cut", str(e.reply))

    # commands

    def _on_interrupt(self, e: InterruptCommand) -> None:
        self.interrupt_audio_t.append(e.audio_t)
        self._reply_mark(e, "interrupt", e.reason)

    def _on_say(self, e: SayCommand) -> None:
        self._reply_mark(e, "say")

    # --- queries ---------------------------------------------------------------------------------

    def spans_in(self, spans: list[Span], start: float, end: float) -> list[Span]:
        """The spans of ``spans`` (VAD speech or mutes) overlapping ``[start, end)``; an open
        span runs to now."""
        hi = bisect_right(spans, end, key=_start)
        out: list[Span] = []
        for k in range(hi - 1, -1, -1):
            span = spans[k]
            if (span.end if span.end is not None else self.now_audio_t) >= start:
                out.append(span)
            elif span.end is not None:
                break
        out.reverse()
        return out

    @staticmethod
    def marks_in(marks: list[Mark], start: float, end: float) -> list[Mark]:
        """Marks with ``start <= at < end``."""
        return marks[bisect_left(marks, start, key=_at) : bisect_left(marks, end, key=_at)]

    def latest_turn(self) -> TurnEntry | None:
        """The turn started last."""
        return next(reversed(self.turns.values()), None)

    def playing_reply(self) -> ReplyEntry | None:
        """The reply being heard now, if any."""
        for entry in reversed(self._playing.values()):
            if entry.play_start_t is not None and entry.play_end_t is None:
                return entry
        return None

    def latest_error(self) -> ErrorInfo | None:
        """The most recent engine error."""
        return self.errors[-1] if self.errors else None


_HANDLERS: dict[type[Event], Callable[[ConsoleModel, Any], None]] = {
    SessionStarted: ConsoleModel._on_session_start,
    SessionStopped: ConsoleModel._on_session_stop,
    TurnConfigChanged: ConsoleModel._on_turn_config,
    EngineState: ConsoleModel._on_engine_state,
    EngineError: ConsoleModel._on_engine_error,
    DeviceState: ConsoleModel._on_device,
    AudioLevel: ConsoleModel._on_level,
    AecState: ConsoleModel._on_aec,
    AecErle: ConsoleModel._on_erle,
    VadSignalBatch: ConsoleModel._on_signal,
    SpeechStarted: ConsoleModel._on_speech_start,
    SpeechStopped: ConsoleModel._on_speech_stop,
    MuteCommand: ConsoleModel._on_mute,
    TurnStart: ConsoleModel._on_turn_start,
    TurnUpdate: ConsoleModel._on_turn_update,
    TurnEagerEnd: ConsoleModel._on_turn_eager,
    TurnResume: ConsoleModel._on_turn_resume,
    TurnEnd: ConsoleModel._on_turn_end,
    TtsQueued: ConsoleModel._on_queued,
    TtsRequestSent: ConsoleModel._on_request,
    TtsFirstAudio: ConsoleModel._on_first_audio,
    TtsWordTimings: ConsoleModel._on_words,
    TtsDone: ConsoleModel._on_tts_done,
    TtsCancelled: ConsoleModel._on_cancelled,
    TtsFailed: ConsoleModel._on_failed,
    PlaybackStarted: ConsoleModel._on_play_start,
    PlaybackFinished: ConsoleModel._on_play_finish,
    PlaybackInterrupted: ConsoleModel._on_play_interrupt,
    InterruptCommand: ConsoleModel._on_interrupt,
    SayCommand: ConsoleModel._on_say,
}


__all__ = ["ConsoleModel", "Versions"]
