"""Writing events as JSON lines (one event a line, flushed per event)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, TextIO

from voiceconsole import secrets
from voiceconsole.errors import ConfigError
from voiceconsole.events import Event, EventDecodeError, to_dict, to_json


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def event_line(event: Event) -> str:
    """The event as one JSON line (no newline), safe to write anywhere: every known key
    masked, and a non-finite number (which JSON cannot hold) written as null."""
    try:
        line = to_json(event)
    except ValueError:
        line = json.dumps(_finite(to_dict(event)), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if secrets.known() and secrets.scrub(line) != line:
        line = json.dumps(secrets.scrub_value(_finite(to_dict(event))), ensure_ascii=False, separators=(",", ":"))
    return line


class JsonlEventWriter:
    """A bus listener that appends every event to a file, or to stdout for ``-``."""

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        if self.target == "-":
            self._fh: TextIO = sys.stdout
            self._owned = False
        else:
            try:
                self._fh = Path(target).open("a", encoding="utf-8")  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise ConfigError(f"{target}: cannot write events ({exc.strerror or exc}); choose a writable path") from None
            self._owned = True
        self.count = 0

    def __call__(self, event: Event) -> None:
        self._fh.write(event_line(event) + "\n")
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        """Flush and close (stdout stays open)."""
        if self._owned:
            self._fh.close()
        else:
            self._fh.flush()


def read_events(path: str | Path, *, tolerate_partial_last_line: bool = True) -> list[Event]:
    """Read a JSONL event log. A cut-off last line (a crash mid-write) is skipped, not fatal."""
    from voiceconsole.session.recording import decode_event

    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such event log") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the event log ({getattr(exc, 'strerror', None) or exc})") from None
    events: list[Event] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(decode_event(line))
        except EventDecodeError as exc:
            if tolerate_partial_last_line and number == len(lines):
                break
            raise ConfigError(f"{p}:{number}: bad event line ({exc})") from None
    return events
