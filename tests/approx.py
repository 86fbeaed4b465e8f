"""Comparing what the compact history reads back with what was put in.

Old (folded) turns and replies keep their moments as 32-bit offsets, so a moment reads back
within microseconds, not bit for bit; everything else must be equal.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

TIME_SLACK_S = 1e-4


def same_within(a: Any, b: Any, slack: float = TIME_SLACK_S, path: str = "") -> None:
    """Assert ``a`` and ``b`` are equal, floats to within ``slack`` (recursing into containers
    and dataclasses); the message says where they differ."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool), f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=0.0, abs_tol=slack) or (a != a and b != b), f"{path}: {a!r} != {b!r}"
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
        for f in dataclasses.fields(a):
            same_within(getattr(a, f.name), getattr(b, f.name), slack, f"{path}.{f.name}")
    elif isinstance(a, Mapping):
        assert isinstance(b, Mapping) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            same_within(a[key], b[key], slack, f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            same_within(x, y, slack, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
