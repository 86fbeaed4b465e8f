"""What other turn settings would have done on a recording: the replay console's ghost run.

A ghost run hears the recording's ``mic.wav`` again through the recorded STT engine with
other turn settings (the tuning panel's), in virtual time for the offline engine. Its turns are
matched to the recorded ones by overlapping audio spans (as ``replay --through`` matches them)
and each gets the difference of its ``turn.end`` from the recorded turn's, in milliseconds.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from voiceconsole.engines.base import TurnSettings
from voiceconsole.events import Event, TurnEagerEnd, TurnEnd, TurnResume, TurnStart
from voiceconsole.session.compare import (
    ThroughConfig,
    Timeline,
    align_turns,
    run_through,
    turn_overrides,
)
from voiceconsole.session.recording import Recording


@dataclass(frozen=True)
class GhostTurn:
    """One turn of the ghost run, on the recording's audio time (seconds)."""

    turn: int
    start: float
    end: float | None
    """Audio time of its ``turn.end`` (``None``: the audio ended first)."""
    eager_ends: tuple[float, ...] = ()
    resumes: tuple[float, ...] = ()
    end_diff_ms: int | None = None
    """Its ``turn.end`` minus the matching recorded turn's, in ms (``None``: no recorded turn
    overlaps it, or one of the two never ended)."""


@dataclass(frozen=True)
class GhostRun:
    """The ghost run's turns and what they changed."""

    settings: TurnSettings
    engine: str
    turns: tuple[GhostTurn, ...]
    missing: tuple[float, ...] = ()
    """Audio starts of recorded turns that no ghost turn overlaps."""
    new_turns: frozenset[int] = frozenset()
    """Ghost turns that overlap no recorded turn."""

    @property
    def diffs_ms(self) -> list[int]:
        """The per-turn ``turn.end`` differences that could be measured."""
        return [t.end_diff_ms for t in self.turns if t.end_diff_ms is not None]

    def summary(self) -> str:
        """One line: turns, the median end difference, turns gained or lost."""
        parts = [f"{len(self.turns)} turns"]
        diffs = self.diffs_ms
        if diffs:
            parts.append(f"turn.end median {int(statistics.median(diffs)):+d} ms")
        if self.new_turns:
            parts.append(f"{len(self.new_turns)} new")
        if self.missing:
            parts.append(f"{len(self.missing)} gone")
        return ", ".join(parts)


@dataclass
class _TurnMarks:
    start: float
    end: float | None = None
    eager_ends: list[float] = field(default_factory=list)
    resumes: list[float] = field(default_factory=list)


def ghost_turns(events: list[Event]) -> list[GhostTurn]:
    """The turns of a run's events, with their marks (no differences yet)."""
    marks: dict[int, _TurnMarks] = {}
    for event in events:
        if isinstance(event, TurnStart):
            marks[event.turn] = _TurnMarks(event.audio_t)
            continue
        turn = marks.get(getattr(event, "turn", -1))
        if turn is None:
            continue
        if isinstance(event, TurnEagerEnd):
            turn.eager_ends.append(event.audio_t)
        elif isinstance(event, TurnResume):
            turn.resumes.append(event.audio_t)
        elif isinstance(event, TurnEnd):
            turn.end = event.audio_t
    return [
        GhostTurn(n, m.start, m.end, tuple(m.eager_ends), tuple(m.resumes))
        for n, m in marks.items()
    ]


def compare_ghost(
    recorded: Timeline, ghost: Timeline, settings: TurnSettings, engine: str
) -> GhostRun:
    """Match the ghost run's turns to the recorded ones and measure each ``turn.end`` difference."""
    turns = {t.turn: t for t in ghost_turns(ghost.events)}
    diffs: dict[int, int] = {}
    unmatched: set[int] = set()
    missing: list[float] = []
    for row in align_turns([recorded, ghost]):
        mine, theirs = row.turns[1], row.turns[0]
        if not mine:
            missing.extend(
                t.start_audio_t for t in theirs if t.start_audio_t is not None
            )
            continue
        if not theirs:
            unmatched.update(t.turn for t in mine)
            continue
        # A turn split in two (or two merged into one) is compared by the row's last turn.end.
        last_mine, last_theirs = mine[-1], theirs[-1]
        if last_mine.end_audio_t is not None and last_theirs.end_audio_t is not None:
            diffs[last_mine.turn] = round(
                (last_mine.end_audio_t - last_theirs.end_audio_t) * 1000
            )
    with_diffs = tuple(
        GhostTurn(t.turn, t.start, t.end, t.eager_ends, t.resumes, diffs.get(t.turn))
        for t in turns.values()
    )
    return GhostRun(settings, engine, with_diffs, tuple(missing), frozenset(unmatched))


async def run_ghost(
    recording: Recording, engine: str, settings: TurnSettings
) -> GhostRun:
    """Run the recording's mic through ``engine`` with ``settings`` and compare it with the recording."""
    ghost = await run_through(recording, ThroughConfig(engine, turn_overrides(settings)))
    recorded = Timeline.of("recorded", recording.events)
    return compare_ghost(recorded, ghost, settings, engine)


__all__ = ["GhostRun", "GhostTurn", "compare_ghost", "ghost_turns", "run_ghost"]
