"""Checks of the merged settings before anything opens, connects or writes.

:func:`preflight` registers the keys as secrets, checks every setting's type, range and key
format, refuses URLs carrying credentials, inputs that are not regular files, endless inputs
on virtual time, and any file that would be both read and written in one run.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

from voiceconsole import secrets
from voiceconsole.config import Settings, check_types
from voiceconsole.errors import ConfigError

MAX_BLOCK_MS = 1000
MAX_SCRIPT_BYTES = 1_000_000
"""Largest ``--responder script:FILE`` read (a reply a line: a million bytes is plenty)."""
RECORDING_FILES = ("events.jsonl", "mic.wav", "speaker.wav", "meta.json")

_POSITIVE_INTS = {
    "block_ms",
    "stt_sample_rate",
    "tts_sample_rate",
    "turn_start_ms",
    "eager_end_ms",
    "end_ms",
    "turn_end_timeout_ms",
}


def preflight(settings: Settings) -> None:
    """Refuse bad settings with one line (:class:`ConfigError`); register their secrets first."""
    secrets.register_settings(settings)
    secrets.install_log_scrubber()
    check_types(settings)
    _check_numbers(settings)
    _check_keys(settings)
    _check_urls(settings)
    _check_inputs(settings)
    check_distinct_files(settings)


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_numbers(settings: Settings) -> None:
    if not 0 < settings.block_ms <= MAX_BLOCK_MS:
        raise ConfigError(
            f"--block-ms {settings.block_ms}: give a block size from 1 to {MAX_BLOCK_MS} ms (default 20)"
        )
    for name in sorted(_POSITIVE_INTS):
        value = getattr(settings, name)
        if value <= 0:
            raise ConfigError(f"{_option(name)} {value}: must be a positive number")
    if settings.max_turn_s <= 0:
        raise ConfigError(
            f"--max-turn-s {settings.max_turn_s}: must be a positive number of seconds"
        )


def _check_keys(settings: Settings) -> None:
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, str) and f.name.endswith("api_key"):
            if f.name == "api_key":
                secrets.check_key(value)
            else:
                what = f"{f.name[: -len('_api_key')].upper()} API key"
                secrets.check_key(
                    value,
                    what=what,
                    source=f"{_option(f.name)}, its environment variable or the config file",
                )


def _check_urls(settings: Settings) -> None:
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, str) and f.name.endswith("_url"):
            found = secrets.url_credentials(value)
            if found is not None:
                raise ConfigError(
                    f"{_option(f.name)} carries credentials ({found}); remove them from the URL: "
                    "keys go in --api-key, the environment or the config file, never in a URL (it leaks into logs)"
                )


def _check_inputs(settings: Settings) -> None:
    if settings.mic == "silence" and settings.fast:
        raise ConfigError(
            "--mic silence has no end, so --fast would never stop; drop --fast or give --mic FILE.wav"
        )
    if settings.mic and settings.mic != "silence":
        _regular_file(
            settings.mic,
            "--mic",
            "give a WAV file or 'silence' (FIFOs, devices and sockets are not supported)",
        )
    if settings.responder.startswith("script:") and len(settings.responder) > len(
        "script:"
    ):
        path = settings.responder[len("script:") :]
        st = _regular_file(
            path, "--responder script:", "give a text file with one reply per line"
        )
        if st is not None and st.st_size > MAX_SCRIPT_BYTES:
            raise ConfigError(
                f"--responder script:{path}: {st.st_size} bytes is too large for a script (at most {MAX_SCRIPT_BYTES}); "
                "give a text file with one reply per line"
            )


def _regular_file(path: str, option: str, what_to_do: str) -> os.stat_result | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # a missing file is reported by whoever opens it, with its own hint
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        raise ConfigError(
            f"{option}{'' if option.endswith(':') else ' '}{path}: not a regular file; {what_to_do}"
        )
    return st


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_distinct_files(settings: Settings) -> None:
    """Refuse a run that would write a file it reads (``--mic a.wav --speaker a.wav``,
    ``--mic D/mic.wav --record D``, ``--events D/events.jsonl --record D``, ...)."""
    reads: list[tuple[str, Path]] = []
    if settings.mic and settings.mic != "silence":
        reads.append(("--mic", Path(settings.mic)))
    if settings.responder.startswith("script:") and len(settings.responder) > len(
        "script:"
    ):
        reads.append(("--responder", Path(settings.responder[len("script:") :])))
    writes: list[tuple[str, Path]] = []
    if settings.speaker and settings.speaker not in ("null", "device"):
        writes.append(("--speaker", Path(settings.speaker)))
    if settings.events and settings.events != "-":
        writes.append(("--events", Path(settings.events)))
    if settings.record:
        record = Path(settings.record)
        writes += [("--record", record / name) for name in RECORDING_FILES]
        for label, path in reads + writes[: -len(RECORDING_FILES)]:
            if _inside(path, record):
                raise ConfigError(
                    f"{label} {path} is inside the --record directory {record}; record into a new, empty directory"
                )
    read_paths = {id(p) for _, p in reads}
    files = reads + writes
    for i, (label_a, a) in enumerate(files):
        for label_b, b in files[i + 1 :]:
            if label_a == label_b == "--record" or (
                id(a) in read_paths and id(b) in read_paths
            ):
                continue
            if _same(a, b):
                raise ConfigError(
                    f"{label_a} and {label_b} are the same file ({a}); a run never writes a file it reads"
                )


def _inside(path: Path, directory: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(directory))
    except (OSError, ValueError):
        return False


__all__ = ["MAX_BLOCK_MS", "MAX_SCRIPT_BYTES", "check_distinct_files", "preflight"]
