"""Opening a recording made with ``--record DIR`` (see :mod:`voiceconsole.session.recorder`).

A recording cut short by a crash is still usable: a last ``events.jsonl`` line without its
newline (the write that was interrupted) is dropped, and the WAV headers are repaired from the
real file sizes. Any other damage is a :class:`RecordingError` naming the file and line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceconsole.errors import UserError
from voiceconsole.events import Event, EventDecodeError, WordTiming, from_dict
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
    """``local end=800ms eager=200ms`` for the offline engine (``+smart-turn≥0.5`` when Smart
    Turn ends its turns); thresholds for Ink-2."""
    if not turn:
        return stt
    if stt.startswith("cartesia"):
        return (
            f"{stt} start={turn.get('start_threshold')} eager={turn.get('eager_end_threshold')} "
            f"end={turn.get('end_threshold')}"
        )
    described = f"{stt} end={turn.get('end_silence_ms')}ms eager={turn.get('eager_end_silence_ms')}ms"
    if turn.get("turn_detector", "vad") != "vad":
        described += f" +{turn['turn_detector']}≥{turn.get('smart_turn_threshold')}"
    return described


MAX_LINE_BYTES = 4 * 1024 * 1024
"""Longest event line read (an event is a few hundred bytes; a turn's words a few kilobytes)."""
_HINTS: dict[type[Event], dict[str, Any]] = {}


def _reject_constant(name: str) -> float:
    raise EventDecodeError(f"{name} is not a number an event may hold")


def decode_event(line: str | bytes) -> Event:
    """One event from one JSON line, every field checked against the event's declared types
    (numbers finite). Anything else, however malformed or deep, is :class:`EventDecodeError`."""
    if len(line) > MAX_LINE_BYTES:
        raise EventDecodeError(f"line of {len(line)} bytes is too long for an event")
    try:
        data = json.loads(line, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventDecodeError(f"not JSON: {getattr(exc, 'msg', 'not UTF-8 text')}") from None
    except RecursionError:
        raise EventDecodeError("nested too deeply") from None
    if not isinstance(data, dict):
        raise EventDecodeError("event is not a JSON object")
    if not isinstance(data.get("type"), str):
        raise EventDecodeError("'type' is missing or not a string")
    try:
        event = from_dict(data)
    except EventDecodeError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
        raise EventDecodeError(f"bad fields for {data['type'][:40]!r} ({type(exc).__name__})") from None
    cls = type(event)
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    for f in dataclasses.fields(event):
        if not _fits(getattr(event, f.name), hints.get(f.name, Any)):
            raise EventDecodeError(f"{event.type}: field {f.name!r} has the wrong type")
    return event


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return any(value == arg and type(value) is type(arg) for arg in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        return isinstance(value, tuple) and all(_fits(v, args[0] if args else Any) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if hint is WordTiming:
        return (
            isinstance(value, WordTiming) and isinstance(value.word, str)
            and _fits(value.start, float) and _fits(value.end, float)
        )
    return isinstance(hint, type) and isinstance(value, hint)


class EventLines(typing.NamedTuple):
    """What an events file holds."""

    events: list[Event]
    truncated: bool
    """A cut-off last line was dropped."""


def read_event_lines(path: Path) -> EventLines:
    """Parse an events file; a corrupt line (wrong types included) is a :class:`RecordingError`
    naming it, a cut-off last line (the process killed mid-write) is dropped."""
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
            events.append(decode_event(raw))
        except EventDecodeError as exc:
            raise RecordingError(
                f"{path}:{number}: corrupt event line ({exc}); the recording is damaged: "
                f"delete that line or record again"
            ) from None
    truncated = bool(tail.strip())
    if truncated:
        # The process died mid-write; if the piece happens to be a whole event, keep it.
        try:
            events.append(decode_event(tail))
            truncated = False
        except EventDecodeError:
            pass
    return EventLines(events, truncated)


_META_TYPES: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "format_version": (int,),
    "created": (str,),
    "engines": (dict,),
    "turn_settings": (dict,),
    "settings": (dict,),
    "audio": (dict,),
    "session": (dict,),
    "virtual_clock": (bool,),
    "versions": (dict,),
    "complete": (bool,),
    "stop_reason": (str,),
    "duration_s": (int, float),
    "events": (int,),
}


def read_meta(path: Path) -> dict[str, Any]:
    """``meta.json`` checked for shape (each known key of its type, numbers finite); a missing
    file is empty. Anything else is a :class:`RecordingError`."""
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_LINE_BYTES:
            raise RecordingError(f"{path}: too large for a meta.json; the recording is damaged")
        meta = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, EventDecodeError) as exc:
        raise RecordingError(f"{path}: not valid JSON ({exc}); the recording is damaged") from None
    except RecursionError:
        raise RecordingError(f"{path}: nested too deeply; the recording is damaged") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror or exc}); make it readable") from None
    if not isinstance(meta, dict):
        raise RecordingError(f"{path}: not a JSON object; the recording is damaged")
    for key, kinds in _META_TYPES.items():
        value = meta.get(key)
        if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            raise RecordingError(f"{path}: {key!r} is not a {kinds[0].__name__}; the recording is damaged")
    engines = meta.get("engines") or {}
    if not all(isinstance(v, str) for v in engines.values()):
        raise RecordingError(f"{path}: 'engines' holds a name that is not text; the recording is damaged")
    return meta


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
    meta = read_meta(p / META_FILE)
    events, truncated = read_event_lines(events_path)
    if not events:
        raise RecordingError(f"{events_path}: holds no events; the session was stopped before it started")
    recording = Recording(p, events, meta, truncated)
    if repair:
        for wav in (recording.mic_path, recording.speaker_path):
            if wav.is_file() and os.access(wav, os.W_OK) and repair_wav(wav):
                recording.repaired.append(wav.name)
    return recording
