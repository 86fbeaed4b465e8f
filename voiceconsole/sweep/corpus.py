"""The corpus of a sweep: recording directories, folders of them, and WAV files.

Every argument is one of: a recording directory (made with ``--record``: ``events.jsonl`` and
``mic.wav``), a bare WAV file (its audio is the mic), or a folder searched for both (a
recording's own WAVs are not taken twice). An argument that is none of these, a recording
without ``mic.wav`` or a WAV whose header is damaged is reported as one line and skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceconsole.errors import UserError

EVENTS_FILE = "events.jsonl"
MIC_FILE = "mic.wav"
META_FILE = "meta.json"


@dataclass(frozen=True)
class CorpusItem:
    """One recording of the corpus."""

    name: str
    """Its name in outputs and in a labels file: the directory's or WAV file's name without ``.wav``."""
    path: Path
    """The recording directory, or the WAV file."""
    mic: Path
    """The audio the engine hears."""
    digest: str
    """SHA-256 of the mic audio file: the cache key's content part."""
    duration_s: float
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """A recording's ``meta.json`` (its recorded settings are the run's starting point)."""

    @property
    def is_recording(self) -> bool:
        """A ``--record`` directory (else a bare WAV)."""
        return self.path.is_dir()


@dataclass
class Corpus:
    """What a sweep runs, and the one-line reasons for what it skipped."""

    items: list[CorpusItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def by_name(self) -> dict[str, CorpusItem]:
        """Items by :attr:`CorpusItem.name`."""
        return {item.name: item for item in self.items}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_recording_dir(path: Path) -> bool:
    return (path / EVENTS_FILE).is_file() or (path / MIC_FILE).is_file()


def _wav_item(name: str, path: Path, mic: Path, meta: dict[str, Any]) -> CorpusItem:
    from voiceconsole.audio.wavio import read_wav_info

    info = read_wav_info(mic)  # AudioFileError names the file and what is wrong
    if info.frames == 0:
        raise UserError(f"{mic}: holds no audio; record it again or leave it out")
    try:
        digest = file_digest(mic)
    except OSError as exc:
        raise UserError(f"{mic}: cannot read ({exc.strerror or exc})") from None
    return CorpusItem(name, path, mic, digest, info.duration_s, meta)


def _recording_item(path: Path) -> CorpusItem:
    if not (path / EVENTS_FILE).is_file():
        raise UserError(
            f"{path}: not a recording (no {EVENTS_FILE}); give recordings made with --record, or WAV files"
        )
    mic = path / MIC_FILE
    if not mic.is_file():
        raise UserError(
            f"{path}: recording has no {MIC_FILE} to run through an engine; record with --record again"
        )
    meta: dict[str, Any] = {}
    meta_path = path / META_FILE
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(
                f"{meta_path}: not valid JSON ({exc}); the recording is damaged"
            ) from None
        if not isinstance(meta, dict):
            raise UserError(f"{meta_path}: not a JSON object; the recording is damaged")
    return _wav_item(path.name, path, mic, meta)


def _entry(path: Path) -> CorpusItem:
    if path.is_dir():
        return _recording_item(path)
    if path.suffix.lower() != ".wav":
        raise UserError(
            f"{path}: not a recording or a WAV file; give recording directories, folders of them or .wav files"
        )
    return _wav_item(path.stem, path, path, {})


def _walk(folder: Path) -> list[Path]:
    """Recordings and WAV files under ``folder``, sorted, not descending into recordings."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs.sort()
        keep = []
        for d in dirs:
            if _is_recording_dir(here / d):
                found.append(here / d)
            else:
                keep.append(d)
        dirs[:] = keep
        found.extend(here / f for f in sorted(files) if f.lower().endswith(".wav"))
    return sorted(found)


def load_corpus(arguments: list[str]) -> Corpus:
    """Collect the corpus; bad entries go to :attr:`Corpus.skipped` (one line each), not an error."""
    corpus = Corpus()
    seen: dict[str, Path] = {}
    for argument in arguments:
        path = Path(argument)
        if not path.exists():
            corpus.skipped.append(f"{path}: no such file or directory")
            continue
        if path.is_dir() and not _is_recording_dir(path):
            entries = _walk(path)
            if not entries:
                corpus.skipped.append(
                    f"{path}: not a recording and holds no recordings or .wav files"
                )
                continue
        else:
            entries = [path]
        for entry in entries:
            try:
                item = _entry(entry)
            except UserError as exc:
                corpus.skipped.append(str(exc))
                continue
            if item.name in seen:
                if seen[item.name].resolve() != item.path.resolve():
                    corpus.skipped.append(
                        f"{item.path}: same name as {seen[item.name]}; names key the labels and results, rename one"
                    )
                continue
            seen[item.name] = item.path
            corpus.items.append(item)
    return corpus
