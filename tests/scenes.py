"""Scripted sessions for snapshot tests and screenshots: fixed events on a virtual clock.

Each scene is a list of events as a session would emit them (levels every 50 ms, turn events,
replies, commands), built from a few lines of script, plus the session time at which to look
at it. :class:`ScriptedController` takes the app's commands and answers with the events a
session would emit, so keys change the screen in scripted runs too.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from voiceconsole.clock import VirtualClock
from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.vad_turns import VadTurnTracker
from voiceconsole.session.bus import EventBus
from voiceconsole.events import (
    AudioLevel,
    EngineError,
    EngineState,
    Event,
    InterruptCommand,
    MuteCommand,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    SayCommand,
    SessionStarted,
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
    WordTiming,
)

LEVEL_STEP = 0.05
RATE = 16000
FRAME = 512
"""Samples per VAD frame (Silero at 16 kHz: 32 ms), as the local engine has them."""
SIGNAL_FRAMES = 3
"""VAD frames per ``vad.signal`` batch (the local engine's ~100 ms)."""


@dataclass
class Scene:
    """Events of a scripted session and the session time to show them at."""

    name: str
    events: list[Event]
    now: float

    def clock(self) -> VirtualClock:
        """A virtual clock standing at :attr:`now`."""
        return VirtualClock(self.now)


@dataclass
class SceneBuilder:
    """Writes a session's events in time order (``t`` and ``audio_t`` are the same here)."""

    events: list[Event] = field(default_factory=list)
    speech: list[tuple[float, float]] = field(default_factory=list)
    playing: list[tuple[float, float]] = field(default_factory=list)
    stt: str = "local"
    tunings: list[tuple[float, TurnSettings]] = field(default_factory=lambda: [(0.0, TurnSettings())])
    """The turn settings from each audio time on (the local engine's ``vad.signal`` follows them)."""
    signalled: bool = False

    def add(self, cls: type[Event], t: float, **fields: Any) -> SceneBuilder:
        self.events.append(cls(t=t, audio_t=t, **fields))
        return self

    def start(self, stt: str = "local", tts: str = "local") -> SceneBuilder:
        self.stt = stt
        self.add(
            SessionStarted,
            0.0,
            stt=stt,
            tts=tts,
            responder="echo",
            source="file",
            sink="null",
            sample_rate=RATE,
            settings={
                "auto_barge_in": True,
                "source_rate": RATE,
                "sink_rate": RATE,
                "source_description": "speech_turns.wav",
                "sink_description": "null",
            },
        )
        self.add(TurnConfigChanged, 0.0, settings={"end_silence_ms": 800})
        self.add(EngineState, 0.0, role="stt", engine=stt, state="connected")
        self.add(EngineState, 0.0, role="tts", engine=tts, state="connected")
        return self

    def retune(self, t: float, **changes: Any) -> SceneBuilder:
        """The user changed the turn settings (``TurnSettings`` fields) at ``t``."""
        settings = replace(self.tunings[-1][1], **changes)
        self.tunings.append((t, settings))
        self.add(TurnConfigChanged, t, settings={k: getattr(settings, k) for k in changes})
        return self

    def said(self, start: float, stop: float) -> SceneBuilder:
        """The user spoke from ``start`` to ``stop`` (the VAD reports it 100 ms late)."""
        self.speech.append((start, stop))
        self.add(SpeechStarted, start + 0.1, speech_audio_t=start)
        if stop < math.inf:
            self.add(SpeechStopped, stop + 0.1, speech_audio_t=stop)
        return self

    def turn(self, n: int, start: float, words: list[tuple[float, str]], *, eager: float | None = None,
             resume: float | None = None, eager2: float | None = None, end: float | None = None) -> SceneBuilder:
        self.add(TurnStart, start, turn=n)
        text = ""
        marks: list[tuple[float, Any]] = [(t, w) for t, w in words]
        for t, word in marks:
            text = f"{text} {word}".strip()
            self.add(TurnUpdate, t, turn=n, transcript=text)
        if eager is not None:
            self.add(TurnEagerEnd, eager, turn=n, transcript=text)
        if resume is not None:
            self.add(TurnResume, resume, turn=n)
        if eager2 is not None:
            self.add(TurnEagerEnd, eager2, turn=n, transcript=text)
        if end is not None:
            self.add(TurnEnd, end, turn=n, transcript=text)
        return self

    def reply(self, n: int, text: str, queued: float, *, turn: int | None = None, ttfa: float = 0.18,
              duration: float | None = None, play: bool = True, cut_at: float | None = None,
              origin: str = "responder", stage: str = "all") -> SceneBuilder:
        """A reply through the queue; ``stage`` stops it at ``queued``, ``synth`` or ``play``."""
        duration = duration if duration is not None else 0.065 * len(text)
        self.add(TtsQueued, queued, reply=n, text=text, origin=origin, turn=turn)
        if stage == "queued":
            return self
        request = queued + 0.01
        self.add(TtsRequestSent, request, reply=n)
        if stage == "synth":
            return self
        first = request + ttfa
        self.add(TtsFirstAudio, first, reply=n, latency_s=ttfa)
        words, at = [], 0.0
        for word in text.split():
            length = 0.065 * (len(word) + 1)
            words.append(WordTiming(word, round(at, 3), round(at + length * 0.9, 3)))
            at += length
        self.add(TtsWordTimings, first, reply=n, words=tuple(words))
        self.add(TtsDone, first + 0.05, reply=n, duration_s=duration)
        if not play:
            return self
        play_start = first + 0.02
        self.add(PlaybackStarted, play_start, reply=n)
        if stage == "play":
            self.playing.append((play_start, math.inf))
            return self
        if cut_at is not None:
            self.add(InterruptCommand, cut_at, reason="auto")
            self.add(TtsCancelled, cut_at, reply=n)
            self.add(PlaybackInterrupted, cut_at + 0.021, reply=n, samples_played=int((cut_at + 0.021 - play_start) * RATE))
            self.playing.append((play_start, cut_at + 0.021))
        else:
            end = play_start + duration
            self.add(PlaybackFinished, end, reply=n, samples_played=int(duration * RATE))
            self.playing.append((play_start, end))
        return self

    def speech_probability(self, k: int, spans: list[tuple[float, float]] | None = None) -> float:
        """A Silero-like probability for VAD frame ``k``: near 1 in speech (with a dip now and
        then), rising and falling over ~60 ms at its edges, near 0 in silence. ``spans`` is
        :attr:`speech` sorted (pass it when asking for many frames)."""
        mid = (k + 0.5) * FRAME / RATE
        spans = spans if spans is not None else sorted(self.speech)
        i = bisect_right(spans, (mid, math.inf))  # the spans around mid only (an hour has 900)
        near = min((max(a - mid, mid - b, 0.0) for a, b in spans[max(0, i - 1) : i + 1]), default=math.inf)
        if near == 0.0:
            return min(1.0, 0.9 + 0.08 * math.sin(k * 0.7)) if k % 17 else 0.62
        if near < 0.07:
            return 0.45 - 4.0 * near
        return 0.02 + 0.02 * abs(math.sin(k * 1.3))

    def signal(self, now: float) -> list[tuple[float, str]]:
        """The local engine's ``vad.signal`` batches up to ``now``: :meth:`speech_probability`
        per frame through the offline turn rule, a batch every 3 frames and at every edge.
        Returns the rule's edges (audio time, ``start``/``eager_end``/``resume``/``finalize``)."""
        self.signalled = True
        found: list[tuple[float, str]] = []
        tunings = list(self.tunings)
        tracker = VadTurnTracker(tunings.pop(0)[1], frame_samples=FRAME, sample_rate=RATE)
        frame_s = FRAME / RATE
        spans = sorted(self.speech)
        probs: list[int] = []
        first = 0
        k = 0
        while (k + 1) * frame_s <= now + 1e-9:
            end = (k + 1) * frame_s
            while tunings and tunings[0][0] <= k * frame_s:
                tracker.set_settings(tunings.pop(0)[1])
            if not probs:
                first = k
            p = self.speech_probability(k, spans)
            probs.append(round(p * 255))
            edges = tracker.process([((k + 1) * FRAME, p)])
            found.extend((round(end, 3), edge) for edge in edges)
            if edges or len(probs) >= SIGNAL_FRAMES:
                settings = tracker.settings
                self.add(VadSignalBatch, round(end, 3), frames_audio_t=round(first * frame_s, 3),
                         frame_ms=tracker.frame_ms, probs=tuple(probs), threshold=settings.vad_threshold,
                         phase=tracker.phase, speech_ms=tracker.speech_ms, silence_ms=tracker.silence_ms,
                         start_ms=settings.start_speech_ms, eager_ms=settings.eager_end_silence_ms,
                         end_ms=settings.end_silence_ms)
                probs = []
            k += 1
        return found

    def build(self, name: str, now: float) -> Scene:
        """Add the 50 ms level events (and the local engine's signal) up to ``now`` and sort
        everything by time."""
        if self.stt == "local" and not self.signalled:
            self.signal(now)
        t = LEVEL_STEP
        k = 0
        while t <= now + 1e-9:
            k += 1
            speaking = any(a <= t <= b for a, b in self.speech)
            rms = -24.0 + 9.0 * math.sin(k * 0.9) * math.sin(k * 0.23) if speaking else -68.0 + 2.0 * math.sin(k)
            self.events.append(AudioLevel(t=round(t, 3), audio_t=round(t, 3), source="mic", rms_dbfs=rms, peak_dbfs=rms + 9))
            playing = any(a <= t <= b for a, b in self.playing)
            srms = -20.0 + 6.0 * math.sin(k * 0.7) if playing else -120.0
            self.events.append(
                AudioLevel(t=round(t, 3), audio_t=round(t, 3), source="speaker", rms_dbfs=srms, peak_dbfs=min(0.0, srms + 8))
            )
            t = round(t + LEVEL_STEP, 6)
        events = sorted(self.events, key=lambda e: e.t)  # stable: same-time events keep their order
        return Scene(name, events, now)


# --- the scenes --------------------------------------------------------------------------------

WORDS_1 = [(1.05, "all"), (1.3, "circuits"), (1.7, "are"), (1.95, "busy"), (2.3, "now")]
WORDS_2 = [(4.3, "please"), (4.6, "hold"), (4.9, "while"), (5.3, "we"), (5.5, "try"), (5.8, "to"), (6.1, "connect"), (6.4, "you")]
WORDS_2B = [(6.9, "your"), (7.2, "call"), (7.6, "cannot"), (8.0, "be"), (8.4, "completed")]


def empty() -> Scene:
    """The session has started; nothing said yet."""
    return SceneBuilder().start().build("empty", 0.6)


def turn_in_progress() -> Scene:
    """The user is speaking: interim text of turn 1."""
    b = SceneBuilder().start().said(0.8, math.inf)
    b.turn(1, 0.98, WORDS_1[:4])
    return b.build("turn_in_progress", 2.2)


def eager_then_resume() -> Scene:
    """Turn 2 was eagerly ended at a short pause, then resumed; the user is still talking."""
    b = SceneBuilder().start().said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1, eager=2.69, end=3.29)
    b.reply(1, "all circuits are busy now", 3.31, turn=1, duration=1.6)
    b.said(4.07, 6.27).said(6.57, math.inf)
    b.turn(2, 4.25, WORDS_2, eager=6.48, resume=6.75)
    b.events.extend([])
    for t, word in WORDS_2B[:2]:
        b.add(TurnUpdate, t, turn=2, transcript=" ".join(w for _, w in WORDS_2) + " " + " ".join(w for tt, w in WORDS_2B if tt <= t))
    return b.build("eager_then_resume", 7.4)


def reply_playing() -> Scene:
    """Turn 1 is over and its reply is playing, the words heard so far lit."""
    b = SceneBuilder().start().said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1, eager=2.69, end=3.29)
    b.reply(1, "you said: all circuits are busy now", 3.36, turn=1, stage="play")
    return b.build("reply_playing", 4.6)


def interrupted() -> Scene:
    """The user started turn 2 while reply 1 played: auto barge-in cut it."""
    b = SceneBuilder().start().said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1, eager=2.69, end=3.29)
    b.reply(1, "you said: all circuits are busy now, please hold the line", 3.36, turn=1, cut_at=4.25)
    b.said(4.07, math.inf)
    b.turn(2, 4.25, WORDS_2[:3])
    return b.build("interrupted", 5.2)


def tts_queue() -> Scene:
    """Several replies in every state of the queue."""
    b = SceneBuilder().start().said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1, eager=2.69, end=3.29)
    b.reply(1, "all circuits are busy now", 3.31, turn=1, duration=0.6)
    b.add(SayCommand, 4.0, text="this line was cut short")
    b.reply(2, "this line was cut short", 4.0, origin="user", cut_at=4.7)
    b.add(SayCommand, 4.9, text="the engine could not say this one")
    b.add(TtsQueued, 4.9, reply=3, text="the engine could not say this one", origin="user", turn=None)
    b.add(TtsRequestSent, 4.91, reply=3)
    b.add(TtsFailed, 5.0, reply=3, message="cannot synthesize: voice not found")
    b.add(SayCommand, 5.1, text="now playing a typed line for you")
    b.reply(4, "now playing a typed line for you", 5.1, origin="user", stage="play")
    b.add(SayCommand, 5.5, text="waiting for synthesis")
    b.reply(5, "waiting for synthesis", 5.5, origin="user", stage="synth")
    b.add(SayCommand, 5.6, text="queued behind it")
    b.reply(6, "queued behind it", 5.6, origin="user", stage="queued")
    return b.build("tts_queue", 6.0)


def engine_error() -> Scene:
    """The STT engine failed and will not retry."""
    b = SceneBuilder().start(stt="cartesia-turns", tts="local").said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1[:3])
    b.add(EngineState, 2.0, role="stt", engine="cartesia-turns", state="failed", detail="401")
    b.add(
        EngineError,
        2.0,
        role="stt",
        engine="cartesia-turns",
        message="the server refused the API key (HTTP 401)",
        hint="set CARTESIA_API_KEY to a valid key, or run with --stt local",
        fatal=True,
        code="auth",
    )
    return b.build("engine_error", 2.6)


def conversation() -> Scene:
    """Three turns: an eager end that held, one that resumed, a barge-in; for screenshots."""
    b = SceneBuilder().start().said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1, eager=2.69, end=3.29)
    b.reply(1, "all circuits are busy now", 3.31, turn=1, duration=1.6)
    b.said(4.07, 6.27).said(6.57, 9.11)
    b.turn(2, 4.25, WORDS_2 + WORDS_2B + [(8.8, "as"), (9.0, "dialed")], eager=6.48, resume=6.75, eager2=9.33, end=9.93)
    b.reply(2, "please hold while we try to connect you your call cannot be completed as dialed", 9.98, turn=2, cut_at=10.95)
    b.said(10.71, 12.96)
    b.turn(3, 10.95, [(11.3, "the"), (11.5, "echo"), (11.9, "test"), (12.2, "has"), (12.4, "been"), (12.8, "completed")], eager=13.17, end=13.77)
    b.reply(3, "the echo test has been completed", 13.8, turn=3, stage="play")
    return b.build("conversation", 14.6)


def signal_thresholds() -> Scene:
    """The local engine's signal: two turns, the second after the user raised the VAD
    threshold to 0.6 and shortened the eager and end silences (150 / 500 ms); its short pause
    crosses the eager mark, then speech resumes. The turn events are the rule's own edges."""
    b = SceneBuilder().start().said(0.6, 2.2)
    b.retune(3.3, vad_threshold=0.6, eager_end_silence_ms=150, end_silence_ms=500)
    b.said(3.7, 4.5).said(4.78, 5.6)
    now = 6.6
    words = iter(["all", "circuits", "are", "busy", "please", "hold", "while", "we"])
    turn, text = 0, ""
    for at, edge in b.signal(now):
        if edge == "start":
            turn, text = turn + 1, next(words)
            b.add(TurnStart, at, turn=turn)
            b.add(TurnUpdate, round(at + 0.3, 3), turn=turn, transcript=text)
        elif edge == "eager_end":
            b.add(TurnEagerEnd, at, turn=turn, transcript=text)
        elif edge == "resume":
            b.add(TurnResume, at, turn=turn)
        else:
            b.add(TurnEnd, at, turn=turn, transcript=text)
            if turn == 1:
                b.reply(1, "all circuits are busy", round(at + 0.02, 3), turn=1, duration=0.5)
    return b.build("signal_thresholds", now)


def ink2_turns() -> Scene:
    """A Cartesia Ink-2 session: server turn events only, no probabilities to draw."""
    b = SceneBuilder().start(stt="cartesia-turns", tts="local").said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1, eager=2.69, end=3.29)
    b.reply(1, "all circuits are busy now", 3.31, turn=1, duration=1.6)
    return b.build("ink2_turns", 4.2)


SCENES: dict[str, Callable[[], Scene]] = {
    "empty": empty,
    "turn_in_progress": turn_in_progress,
    "eager_then_resume": eager_then_resume,
    "reply_playing": reply_playing,
    "interrupted": interrupted,
    "tts_queue": tts_queue,
    "engine_error": engine_error,
    "conversation": conversation,
    "signal_thresholds": signal_thresholds,
    "ink2_turns": ink2_turns,
}


class ScriptedMeterSlot:
    """A level meter standing at the last level a scene read."""

    def __init__(self) -> None:
        self.levels = (-math.inf, -math.inf)
        self.clips = 0

    def take_levels(self) -> tuple[float, float]:
        return self.levels


class ScriptedMeters:
    """The scene's mic and speaker meters."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.mic = ScriptedMeterSlot()
        self.speaker = ScriptedMeterSlot()
        for event in events:
            if isinstance(event, AudioLevel):
                slot = self.mic if event.source == "mic" else self.speaker
                slot.levels = (event.rms_dbfs, event.peak_dbfs)


class ScriptedOptions:
    auto_barge_in = True


class ScriptedController:
    """A :class:`~voiceconsole.session.controller.Controller` that takes the console's commands
    and answers on its bus with the events a session would emit (stamped by ``clock``); its
    meters stand at the last levels of ``events`` (the scene the console shows)."""

    running = True  # nothing to run: the console only subscribes

    def __init__(self, clock: Any, events: Iterable[Event] = ()) -> None:
        self.clock = clock
        self.bus = EventBus()
        self.meters = ScriptedMeters(events)
        self.muted = False
        self.options = ScriptedOptions()
        self.calls: list[tuple[str, Any]] = []
        self._next_reply = 100

    async def run(self) -> None:
        return None

    def _send(self, cls: type[Event], **fields: Any) -> None:
        now = self.clock.now()
        self.bus.publish(cls(t=now, audio_t=now, **fields))

    def interrupt(self, reason: str = "key") -> None:
        self.calls.append(("interrupt", reason))
        self._send(InterruptCommand, reason=reason)

    def set_muted(self, muted: bool) -> None:
        self.calls.append(("set_muted", muted))
        if muted != self.muted:
            self.muted = muted
            self._send(MuteCommand, muted=muted)

    def say(self, text: str) -> int:
        self.calls.append(("say", text))
        self._next_reply += 1
        self._send(SayCommand, text=text)
        self._send(TtsQueued, reply=self._next_reply, text=text, origin="user", turn=None)
        return self._next_reply

    def update_turn_settings(self, settings: Any) -> None:
        self.calls.append(("update_turn_settings", settings))

    def request_stop(self, reason: str = "quit") -> None:
        self.calls.append(("request_stop", reason))


def long_session(minutes: float = 60.0) -> Scene:
    """A conversation repeated for ``minutes``: a turn every 4 s, each answered (a load test)."""
    b = SceneBuilder().start()
    n = 0
    t = 0.5
    end = minutes * 60.0
    while t + 4.0 < end:
        n += 1
        b.said(t, t + 1.2)
        b.turn(n, t + 0.15, [(t + 0.4, "all"), (t + 0.7, "circuits"), (t + 1.0, "busy")], eager=t + 1.42, end=t + 2.02)
        b.reply(n, f"reply number {n} to that", t + 2.05, turn=n, duration=1.2)
        t += 4.0
    return b.build("long_session", end)
