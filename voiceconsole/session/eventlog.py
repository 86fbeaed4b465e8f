"""Writing events as JSON lines (one event a line, flushed per event)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from voiceconsole.errors import ConfigError
from voiceconsole.events import Event, EventDecodeError, from_json, to_json


class JsonlEventWriter:
    """A bus listener that appends every event to a file, or to stdout for ``-``."""

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        if self.target == "-":
            self._fh: TextIO = sys.stdout
            self._owned = False
        else:
            try:
                self._fh = Path(target).open("a", encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"{target}: cannot write events ({exc.strerror or exc}); choose a writable path") from None
            self._owned = True
        self.count = 0

    def __call__(self, event: Event) -> None:
        self._fh.write(to_json(event) + "\n")
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
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such event log") from None
    events: list[Event] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(from_json(line))
        except EventDecodeError as exc:
            if tolerate_partial_last_line and number == len(lines):
                break
            raise ConfigError(f"{p}:{number}: bad event line ({exc})") from None
    return events
