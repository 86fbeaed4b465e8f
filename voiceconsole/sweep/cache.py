"""Finished runs on disk, so a stopped sweep goes on where it stopped.

One small JSON file per (recording, grid point), named by the task key (content hash of the
audio + the settings that matter + the engine version: see
:func:`voiceconsole.sweep.runner.task_key`), written atomically as each run finishes. A file
that cannot be read back is treated as missing and the run is done again.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from voiceconsole.errors import ConfigError


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/voiceconsole/sweep`` (``~/.cache/voiceconsole/sweep``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voiceconsole" / "sweep"


class ResultCache:
    """Facts of finished runs by task key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"--cache {root}: cannot create ({exc.strerror or exc}); choose a writable directory"
            ) from None

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached facts, or ``None``."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, facts: dict[str, Any]) -> None:
        """Store facts (atomically: a killed sweep leaves no half-written entry)."""
        path = self._path(key)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(facts, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise ConfigError(
                f"{self.root}: cannot write the sweep cache ({exc.strerror or exc})"
            ) from None

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json"))
