"""Comparing turn detection: the recorded run against the recorded mic run through other engines.

Each :class:`ThroughConfig` (``--through ENGINE [options]`` on the command line, parsed in
:mod:`voiceconsole.commands.through`) configures one run; options not given keep the
recording's values. Every run hears the same ``mic.wav``, so the timelines line up on audio
time; turns are matched by overlapping audio spans (a turn that one configuration split in two
shows as one row with two turns on that side).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from voiceconsole.config import SETTING_NAMES, Settings
from voiceconsole.engines.base import Emit, TtsChunk, TurnSettings
from voiceconsole.engines.registry import STT_CHOICES
from voiceconsole.errors import ConfigError
from voiceconsole.events import Event
from voiceconsole.session.metrics import SessionMetrics, TurnMetrics, compute_metrics, format_ms
from voiceconsole.session.recording import Recording, describe_config

THROUGH_ENGINES = tuple(c for c in STT_CHOICES if c != "auto")
"""The STT engines a recording can be run through."""

# Settings a --through run takes from the recording (the rest stay at their defaults).
_INHERITED = (
    "language", "stt_model", "stt_url", "stt_encoding", "stt_sample_rate", "block_ms",
    "turn_start_ms", "eager_end_ms", "end_ms", "max_turn_s", "vad_threshold",
    "turn_start_threshold", "turn_eager_end_threshold", "turn_end_threshold", "turn_end_timeout_ms",
    "turn_detector", "smart_turn_threshold",
)


SETTING_OF_TURN: dict[str, str] = {
    "start_speech_ms": "turn_start_ms",
    "eager_end_silence_ms": "eager_end_ms",
    "end_silence_ms": "end_ms",
    "max_turn_s": "max_turn_s",
    "vad_threshold": "vad_threshold",
    "start_threshold": "turn_start_threshold",
    "eager_end_threshold": "turn_eager_end_threshold",
    "end_threshold": "turn_end_threshold",
    "end_timeout_ms": "turn_end_timeout_ms",
    "turn_detector": "turn_detector",
    "smart_turn_threshold": "smart_turn_threshold",
}
"""The :class:`Settings` field behind each :class:`TurnSettings` field (the inverse of
:meth:`Settings.turn_settings`)."""


def turn_overrides(turn: TurnSettings) -> dict[str, Any]:
    """Settings overrides that make :meth:`Settings.turn_settings` give ``turn``."""
    return {setting: getattr(turn, name) for name, setting in SETTING_OF_TURN.items()}


@dataclass
class ThroughConfig:
    """One engine configuration to run the recorded mic through."""

    engine: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timeline:
    """The events of one run and their metrics."""

    label: str
    events: list[Event]
    metrics: SessionMetrics

    @classmethod
    def of(cls, label: str, events: list[Event]) -> Timeline:
        """Compute the metrics of ``events``."""
        return cls(label, events, compute_metrics(events))


def through_settings(recording: Recording, config: ThroughConfig) -> Settings:
    """Settings for a ``--through`` run: the recording's turn and engine options, then the overrides."""
    settings = Settings()
    recorded = recording.meta.get("settings") or {}
    for name in _INHERITED:
        value = recorded.get(name)
        if value is not None and name in SETTING_NAMES:
            setattr(settings, name, value)
    env_key = os.environ.get("CARTESIA_API_KEY")
    if env_key:
        settings.api_key = env_key
    for name, value in config.overrides.items():
        setattr(settings, name, value)
    settings.stt = config.engine
    settings.mic = str(recording.mic_path)
    settings.fast = config.engine == "local"
    settings.speaker = "null"
    return settings


class _NoReplies:
    """Responder of a comparison run: turn timing only, nothing is said."""

    name = "none"

    async def reply(self, turn: int, transcript: str) -> str | None:
        return None


class _NoTts:
    """TTS engine of a comparison run, which queues no replies."""

    name = "none"
    sample_rate = 16000

    async def start(self, emit: Emit) -> None:
        return None

    async def synthesize(self, reply: int, text: str) -> AsyncIterator[TtsChunk]:
        for chunk in ():  # no audio: an empty stream
            yield chunk

    async def cancel(self, reply: int) -> None:
        return None

    async def close(self) -> None:
        return None


async def run_through(recording: Recording, config: ThroughConfig) -> Timeline:
    """Run the recorded mic through ``config``'s engine; virtual time for the offline engine."""
    from voiceconsole.audio.io import NullSink, WavFileSource
    from voiceconsole.audio.vad import ReferenceVad
    from voiceconsole.engines.registry import create_stt
    from voiceconsole.session.session import Session, SessionOptions, make_clock

    if not recording.mic_path.is_file():
        raise ConfigError(f"{recording.path}: has no mic.wav to run through {config.engine}; record with --record again")
    settings = through_settings(recording, config)
    turn_settings = settings.turn_settings()
    session = Session(
        source=WavFileSource(recording.mic_path, settings.block_ms),
        sink=NullSink(16000),
        stt=create_stt(settings),
        tts=_NoTts(),
        responder=_NoReplies(),
        reference_vad=ReferenceVad(),
        clock=make_clock(settings.fast),
        options=SessionOptions(block_ms=settings.block_ms, auto_barge_in=False),
        turn_settings=turn_settings,
    )
    events: list[Event] = []
    session.bus.add_listener(events.append)
    await session.run()
    return Timeline.of(describe_config(config.engine, turn_settings.as_dict()), events)


def run_all_through(recording: Recording, configs: Sequence[ThroughConfig]) -> list[Timeline]:
    """The recorded timeline followed by one timeline per configuration."""
    timelines = [Timeline.of("recorded: " + recording.label(), recording.events)]

    async def runs() -> None:
        for config in configs:
            timelines.append(await run_through(recording, config))

    asyncio.run(runs())
    return timelines


# --- aligning turns ------------------------------------------------------------------------


@dataclass
class ComparisonRow:
    """Turns of every timeline that overlap in audio time (one list per timeline)."""

    start: float
    end: float
    turns: list[list[TurnMetrics]]

    def differences(self) -> list[str]:
        """How each timeline differs from the first, e.g. ``B: stop→end -200 ms``."""
        base = self.turns[0]
        out: list[str] = []
        for index, turns in enumerate(self.turns[1:], 1):
            letter = timeline_letter(index)
            if not turns and base:
                out.append(f"{letter}: no turn")
                continue
            if turns and not base:
                out.append(f"{letter}: extra turn")
                continue
            if len(turns) != len(base):
                out.append(f"{letter}: {len(turns)} turns vs {len(base)}")
                continue
            parts = []
            for key, name in (("end_of_turn_delay", "stop→end"), ("eager_end_delay", "stop→eager")):
                a, b = _last(base, key), _last(turns, key)
                if a is not None and b is not None and round((b - a) * 1000) != 0:
                    parts.append(f"{name} {format_ms(b - a, signed=True)}")
            resumes_a, resumes_b = sum(t.resumes for t in base), sum(t.resumes for t in turns)
            if resumes_a != resumes_b:
                parts.append(f"resumes {resumes_b - resumes_a:+d}")
            if parts:
                out.append(f"{letter}: " + ", ".join(parts))
        return out


def _last(turns: list[TurnMetrics], key: str) -> float | None:
    return turns[-1].value(key) if turns else None


def timeline_letter(index: int) -> str:
    """``A`` for the recorded timeline, ``B``, ``C``... for the runs."""
    return chr(ord("A") + index)


def _span(tm: TurnMetrics, fallback_end: float) -> tuple[float, float]:
    start = tm.start_audio_t if tm.start_audio_t is not None else tm.end_audio_t or 0.0
    end = tm.end_audio_t if tm.end_audio_t is not None else fallback_end
    return start, max(start, end)


def align_turns(timelines: Sequence[Timeline]) -> list[ComparisonRow]:
    """Group the turns of every timeline whose audio spans overlap, in audio order."""
    items: list[tuple[float, float, int, TurnMetrics]] = []
    for index, timeline in enumerate(timelines):
        last = timeline.events[-1].audio_t if timeline.events else 0.0
        for tm in timeline.metrics.turns:
            start, end = _span(tm, last)
            items.append((start, end, index, tm))
    items.sort(key=lambda item: (item[0], item[2]))
    rows: list[ComparisonRow] = []
    for start, end, index, tm in items:
        if rows and start <= rows[-1].end:
            row = rows[-1]
            row.end = max(row.end, end)
        else:
            row = ComparisonRow(start, end, [[] for _ in timelines])
            rows.append(row)
        row.turns[index].append(tm)
    return rows
