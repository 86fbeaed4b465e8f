"""The ``--grid`` spec: turn settings and the values to sweep, e.g.
``end-ms=300:1200:100,eager-end-ms=150,250`` (a range ``START:STOP:STEP`` includes STOP; a bare
value after a comma belongs to the key before it). The grid is every combination, in order."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from voiceconsole.errors import ConfigError

GRID_KEYS: dict[str, type] = {
    "turn-start-ms": int,
    "eager-end-ms": int,
    "end-ms": int,
    "max-turn-s": float,
    "vad-threshold": float,
    "turn-start-threshold": float,
    "turn-eager-end-threshold": float,
    "turn-end-threshold": float,
    "turn-end-timeout-ms": int,
}
"""Grid keys (the turn options of ``voiceconsole``) and their value types."""

MAX_POINTS = 10_000


@dataclass(frozen=True)
class GridPoint:
    """One combination of settings: option names (``end-ms``) to values, in grid-key order."""

    values: tuple[tuple[str, Any], ...]

    def overrides(self) -> dict[str, Any]:
        """The values as :class:`~voiceconsole.config.Settings` field names (``end_ms``)."""
        return {key.replace("-", "_"): value for key, value in self.values}

    def label(self) -> str:
        """``end-ms=300 eager-end-ms=150``."""
        return (
            " ".join(f"{key}={_fmt(value)}" for key, value in self.values)
            or "(defaults)"
        )

    def as_dict(self) -> dict[str, Any]:
        """The values by option name."""
        return dict(self.values)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _number(key: str, text: str) -> int | float:
    kind = GRID_KEYS[key]
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(
            f"--grid {key}: {text!r} is not a{'n integer' if kind is int else ' number'}"
        ) from None


def _values(key: str, items: list[str]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if ":" not in item:
            out.append(_number(key, item))
            continue
        parts = item.split(":")
        if len(parts) != 3:
            raise ConfigError(
                f"--grid {key}={item}: a range is START:STOP:STEP, e.g. 300:1200:100"
            )
        start, stop, step = (_number(key, p) for p in parts)
        if step <= 0 or stop < start:
            raise ConfigError(
                f"--grid {key}={item}: STEP must be positive and STOP at least START"
            )
        count = round((stop - start) / step + 1e-9) + 1
        if count > MAX_POINTS:
            raise ConfigError(f"--grid {key}={item}: {count} values; use a larger STEP")
        for i in range(count):
            value = start + i * step
            out.append(round(value, 6) if isinstance(value, float) else value)
    return list(dict.fromkeys(out))


def parse_grid(spec: str) -> list[GridPoint]:
    """Every combination of the spec's values; raises ConfigError (one line) for a bad spec."""
    columns: dict[str, list[str]] = {}
    key: str | None = None
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        if "=" in token:
            key, _, first = token.partition("=")
            key = key.strip().removeprefix("--")
            if key not in GRID_KEYS:
                raise ConfigError(
                    f"--grid: unknown key {key!r}; use {', '.join(GRID_KEYS)}"
                )
            if key in columns:
                raise ConfigError(
                    f"--grid: {key} given twice; list its values once, e.g. {key}=300,600"
                )
            columns[key] = [first.strip()] if first.strip() else []
        elif key is None:
            raise ConfigError(
                f"--grid: {token!r} has no key; write e.g. end-ms=300:1200:100,eager-end-ms=150,250"
            )
        else:
            columns[key].append(token)
    if not columns:
        raise ConfigError(
            "--grid: no settings; write e.g. end-ms=300:1200:100,eager-end-ms=150,250"
        )
    values = {k: _values(k, v) for k, v in columns.items()}
    for k, v in values.items():
        if not v:
            raise ConfigError(f"--grid {k}: no values; write e.g. {k}=300,600")
    total = 1
    for v in values.values():
        total *= len(v)
    if total > MAX_POINTS:
        raise ConfigError(
            f"--grid: {total} grid points (more than {MAX_POINTS}); use fewer values"
        )
    return [
        GridPoint(tuple(zip(values, combo)))
        for combo in itertools.product(*values.values())
    ]
