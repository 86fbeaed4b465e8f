"""Ground truth: which turn ends cut the user off, and how late the right ones came.

**Labels** (``--labels FILE``): each recording's true turns, in seconds of its mic audio. A
``turn.end`` inside a labelled turn (after its start, before its end) is a *cut-off*: exact, no
tolerance. The first ``turn.end`` after a turn's true end (and before the next turn starts)
ends it; its end-of-turn delay is ``turn.end - true end``. Two formats:

JSON::

    {"recordings": {"call-001": [[0.80, 4.35], [6.10, 9.02]], "call-002": [[0.5, 2.0]]}}

CSV (a header line, then one row per turn)::

    recording,start_s,end_s
    call-001,0.80,4.35

A recording's name is its directory's name, or its WAV file's name without ``.wav``.

**Proxy** (no labels): a ``turn.end`` after which the same speaker resumes within N ms (a
reference-VAD speech start on the mic at most N ms after it) is counted as a cut-off. The
delay of the other turn ends is the reference VAD's speech stop -> ``turn.end``. It is only a
proxy: a user who really finished and spoke again quickly counts as cut off, and a cut-off
the user did not talk through is missed. Every output says which ground truth it used.
"""

from __future__ import annotations

import csv
import itertools
import json
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceconsole.errors import ConfigError

DEFAULT_RESUME_MS = 1000
"""Proxy: a speech start this soon after a ``turn.end`` makes it a cut-off."""

Turns = list[tuple[float, float]]


@dataclass(frozen=True)
class GroundTruth:
    """Labels (``labels`` set) or the proxy (``resume_ms``)."""

    labels: dict[str, Turns] | None = None
    labels_path: str | None = None
    resume_ms: int = DEFAULT_RESUME_MS

    @property
    def is_proxy(self) -> bool:
        """No labels: the resume proxy."""
        return self.labels is None

    def describe(self) -> str:
        """One line for every output."""
        if self.labels is None:
            return f"PROXY: a turn.end counts as a cut-off when the speaker resumes within {self.resume_ms} ms (reference VAD)"
        return f"labels: {self.labels_path} (exact: a turn.end before the labelled turn end is a cut-off)"

    def short(self) -> str:
        """``proxy(resume<=1000ms)`` or ``labels``."""
        return f"proxy(resume<={self.resume_ms}ms)" if self.labels is None else "labels"


@dataclass(frozen=True)
class RunScore:
    """One run scored: turn ends, cut-offs, eager resumes and the delays of the right ends (ms)."""

    turns: int
    cutoffs: int
    eager_resumes: int
    delays_ms: tuple[float, ...]


def _turn(where: str, start: Any, end: Any) -> tuple[float, float]:
    try:
        s, e = float(start), float(end)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: start and end must be numbers of seconds, not {start!r}, {end!r}"
        ) from None
    if not 0 <= s < e:
        raise ConfigError(f"{where}: a turn needs 0 <= start < end (got {s:g}, {e:g})")
    return s, e


def _check(where: str, turns: Turns) -> Turns:
    turns = sorted(turns)
    for (_, e1), (s2, _) in itertools.pairwise(turns):
        if s2 < e1:
            raise ConfigError(
                f"{where}: turns overlap at {s2:g} s; give each turn once, in seconds of the mic audio"
            )
    return turns


def load_labels(path: str) -> GroundTruth:
    """Read a labels file (JSON or CSV, by its suffix); ConfigError with the line at fault."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"--labels {p}: no such file; give a JSON or CSV labels file (see `voiceconsole sweep --help`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--labels {p}: cannot read ({exc})") from None
    labels: dict[str, Turns] = {}
    if p.suffix.lower() == ".csv":
        rows = list(csv.reader(text.splitlines()))
        if not rows or [c.strip() for c in rows[0][:3]] != [
            "recording",
            "start_s",
            "end_s",
        ]:
            raise ConfigError(
                f"--labels {p}: the first line must be recording,start_s,end_s"
            )
        for number, row in enumerate(rows[1:], 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise ConfigError(
                    f"--labels {p}:{number}: want recording,start_s,end_s"
                )
            labels.setdefault(row[0].strip(), []).append(
                _turn(f"--labels {p}:{number}", row[1], row[2])
            )
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"--labels {p}: not valid JSON ({exc}); or give a .csv file"
            ) from None
        recordings = data.get("recordings") if isinstance(data, dict) else None
        if not isinstance(recordings, dict):
            raise ConfigError(
                f'--labels {p}: want {{"recordings": {{"NAME": [[start_s, end_s], ...]}}}}'
            )
        for name, turns in recordings.items():
            if not isinstance(turns, list):
                raise ConfigError(
                    f"--labels {p}: {name}: want a list of [start_s, end_s]"
                )
            for turn in turns:
                if not (isinstance(turn, list) and len(turn) == 2):
                    raise ConfigError(
                        f"--labels {p}: {name}: each turn is [start_s, end_s], not {turn!r}"
                    )
                labels.setdefault(str(name), []).append(
                    _turn(f"--labels {p}: {name}", *turn)
                )
    if not labels:
        raise ConfigError(f"--labels {p}: holds no turns")
    return GroundTruth(
        {k: _check(f"--labels {p}: {k}", v) for k, v in labels.items()}, str(p)
    )


def score_labels(facts: dict[str, Any], turns: Turns) -> RunScore:
    """Exact cut-offs and delays against the true turns of one recording."""
    cutoffs = 0
    delays: list[float] = []
    closed: set[int] = set()
    starts = [s for s, _ in turns]
    for end_t in facts["turn_ends"]:
        i = (
            bisect_right(starts, end_t) - 1
        )  # the last turn that started before this turn.end
        if i < 0:
            continue  # before anyone spoke: neither a cut-off nor a turn's end
        _start, end = turns[i]
        if end_t < end:
            cutoffs += 1
        elif i not in closed:
            closed.add(i)
            delays.append(round((end_t - end) * 1000.0, 3))
    return RunScore(
        len(facts["turn_ends"]), cutoffs, int(facts["eager_resumes"]), tuple(delays)
    )


def score_proxy(facts: dict[str, Any], resume_ms: int) -> RunScore:
    """Cut-offs by the resume proxy; delays from the reference VAD's speech stop."""
    starts = sorted(facts["speech_starts"])
    cutoffs = 0
    delays: list[float] = []
    for end_t, delay in zip(facts["turn_ends"], facts["vad_delays"]):
        i = bisect_right(starts, end_t)  # the first speech start after this turn.end
        resumed = i < len(starts) and starts[i] - end_t <= resume_ms / 1000.0
        if resumed:
            cutoffs += 1
        elif delay is not None:
            delays.append(round(delay * 1000.0, 3))
    return RunScore(
        len(facts["turn_ends"]), cutoffs, int(facts["eager_resumes"]), tuple(delays)
    )


def score(truth: GroundTruth, recording: str, facts: dict[str, Any]) -> RunScore | None:
    """Score one run; ``None`` when labels are given but hold none for this recording."""
    if truth.labels is None:
        return score_proxy(facts, truth.resume_ms)
    turns = truth.labels.get(recording)
    return None if turns is None else score_labels(facts, turns)
