"""Opening a recording made with ``--record DIR`` (see :mod:`voiceconsole.session.recorder`).

A recording cut short by a crash is still usable: a last ``events.jsonl`` line without its
newline (the write that was interrupted) is dropped, and the WAV headers are repaired from the
real file sizes. Any other damage is a :class:`RecordingError` naming the file and line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceconsole.errors import UserError
from voiceconsole.events import Event, EventDecodeError, from_json
from voiceconsole.session.recorder import EVENTS_FILE, META_FILE, MIC_FILE, SPEAKER_FILE


class RecordingError(UserError):
    """A recording directory that is missing, not a recording, or damaged."""


@dataclass
class Recording:
    """A loaded recording: its events, metadata and audio file paths."""

    path: Path
    events: list[Event]
    meta: dict[str, Any] = field(default_factory=dict)
    truncated_last_line: bool = False
    """The last event line was cut short (the recording process was killed) and was skipped."""
    repaired: list[str] = field(default_factory=list)
    """WAV files whose header was fixed on opening."""

    @property
    def mic_path(self) -> Path:
        """``mic.wav``: the audio the STT engine heard (``audio_t`` is a position in it)."""
        return self.path / MIC_FILE

    @property
    def speaker_path(self) -> Path:
        """``speaker.wav``: the reply audio as played."""
        return self.path / SPEAKER_FILE

    @property
    def complete(self) -> bool:
        """Whether the session stopped normally (``meta.json`` says so)."""
        return bool(self.meta.get("complete"))

    def label(self) -> str:
        """A short description of the engine configuration, e.g. ``local end=800 eager=200``."""
        return describe_config(self.meta.get("engines", {}).get("stt", "?"), self.meta.get("turn_settings", {}))


def describe_config(stt: str, turn: dict[str, Any]) -> str:
    """``local end=800ms eager=200ms`` for the offline engine; thresholds for Ink-2."""
    if not turn:
        return stt
    if stt.startswith("cartesia"):
        return (
            f"{stt} start={turn.get('start_threshold')} eager={turn.get('eager_end_threshold')} "
            f"end={turn.get('end_threshold')}"
        )
    return f"{stt} end={turn.get('end_silence_ms')}ms eager={turn.get('eager_end_silence_ms')}ms"


def read_event_lines(path: Path) -> tuple[list[Event], bool]:
    """Parse an events file; returns the events and whether a cut-off last line was dropped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror or exc}); make it readable") from None
    lines = data.split(b"\n")
    # A complete file ends with a newline, leaving an empty last piece; anything else was cut.
    tail = lines.pop()
    events: list[Event] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            events.append(from_json(raw.decode("utf-8")))
        except (EventDecodeError, UnicodeDecodeError) as exc:
            reason = str(exc) if isinstance(exc, EventDecodeError) else "not UTF-8 text"
            raise RecordingError(
                f"{path}:{number}: corrupt event line ({reason}); the recording is damaged: "
                f"delete that line or record again"
            ) from None
    truncated = bool(tail.strip())
    if truncated:
        # The process died mid-write; if the piece happens to be a whole event, keep it.
        try:
            events.append(from_json(tail.decode("utf-8")))
            truncated = False
        except (EventDecodeError, UnicodeDecodeError):
            pass
    return events, truncated


def load_recording(path: str | os.PathLike[str], *, repair: bool = True) -> Recording:
    """Open and validate a recording directory; repairs WAV headers cut short by a crash."""
    from voiceconsole.audio.wavio import repair_wav

    p = Path(path)
    if not p.exists():
        raise RecordingError(f"{p}: no such recording; give a directory made with `voiceconsole --record DIR`")
    if not p.is_dir():
        raise RecordingError(f"{p}: is a file, not a recording; give a directory made with `voiceconsole --record DIR`")
    events_path = p / EVENTS_FILE
    if not events_path.is_file():
        raise RecordingError(
            f"{p}: not a recording (no {EVENTS_FILE}); give a directory made with `voiceconsole --record DIR`"
        )
    meta: dict[str, Any] = {}
    meta_path = p / META_FILE
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RecordingError(f"{meta_path}: not valid JSON ({exc}); the recording is damaged") from None
        if not isinstance(meta, dict):
            raise RecordingError(f"{meta_path}: not a JSON object; the recording is damaged")
    events, truncated = read_event_lines(events_path)
    if not events:
        raise RecordingError(f"{events_path}: holds no events; the session was stopped before it started")
    recording = Recording(p, events, meta, truncated)
    if repair:
        for wav in (recording.mic_path, recording.speaker_path):
            if wav.is_file() and os.access(wav, os.W_OK) and repair_wav(wav):
                recording.repaired.append(wav.name)
    return recording
