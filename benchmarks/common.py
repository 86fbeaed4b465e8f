"""What every benchmark shares: figures with their targets, statistics, process probes."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One measured quantity: its distribution (or a single value) and the target it must hold.

    ``target_stat`` names which statistic the target applies to (``p95``, ``p99``, ``max``,
    ``median`` or ``value``); ``target_op`` is ``<=`` or ``>=``; ``target`` ``None`` means the
    figure is reported for information only (a ratio, a median to compare).
    """

    name: str
    unit: str
    median: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    count: int = 0
    target: float | None = None
    target_stat: str = "p95"
    target_op: str = "<="
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def judged(self) -> float | None:
        """The statistic the target applies to."""
        return getattr(self, "median" if self.target_stat == "value" else self.target_stat)

    @property
    def ok(self) -> bool | None:
        """Whether the target holds (``None``: no target, or nothing measured)."""
        value = self.judged
        if self.target is None or value is None:
            return None
        return value <= self.target if self.target_op == "<=" else value >= self.target

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("median", "p95", "p99", "max", "target"):
            if data[key] is not None:
                data[key] = float(data[key])
        data["ok"] = None if self.ok is None else bool(self.ok)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        data = {k: v for k, v in data.items() if k != "ok"}
        return cls(**data)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def distribution(name: str, unit: str, values: Sequence[float], **kwargs: Any) -> Figure:
    """A figure from samples (median, p95, p99, max)."""
    if not values:
        return Figure(name, unit, count=0, note=kwargs.pop("note", "") + " (no samples)", **kwargs)
    return Figure(
        name,
        unit,
        median=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
        max=max(values),
        count=len(values),
        **kwargs,
    )


def single(name: str, unit: str, value: float, **kwargs: Any) -> Figure:
    """A figure that is one value (a ratio, an RSS reading)."""
    kwargs.setdefault("target_stat", "value")
    return Figure(name, unit, median=value, max=value, count=1, **kwargs)


def rss_mb(pid: int | None = None) -> float:
    """Resident set size in MB (VmRSS from /proc)."""
    path = f"/proc/{pid or os.getpid()}/status"
    with open(path, encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc status")


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) so far."""
    t = os.times()
    return t.user + t.system


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant of it (what psutil's ``children(recursive=True)`` finds,
    read from /proc directly, so the project's environment needs no psutil)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone since listdir
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (all its threads), or ``None`` if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def tree_cpu_seconds(root: int) -> dict[int, float]:
    """CPU seconds so far of every live process of the tree under ``root`` (root included)."""
    times = {}
    for pid in process_tree(root):
        cpu = process_cpu_seconds(pid)
        if cpu is not None:
            times[pid] = cpu
    return times


def now() -> float:
    """The clock every latency here uses (CLOCK_MONOTONIC: the same across threads and processes)."""
    return time.monotonic()


def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


AUDIO_DIR_DEFAULT = "/tmp/vc-xdg"
