"""The replay console's ghost lane: the turns other settings would have given, under the recorded ones.

The tuning panel of a replay (:class:`GhostTuningScreen`) does not tune a live session: applying
its values re-runs the recording's mic audio with them (:mod:`voiceconsole.session.ghost`), and
:class:`GhostLane` draws that run's turns faintly under the recorded turn lane, each ``turn.end``
followed by its difference from the recorded one (``-400ms``).
"""

from __future__ import annotations

from typing import ClassVar

from voiceconsole.ui.cells import CellRow
from voiceconsole.ui.lanes import TURN_MARKS, Lane, StyleOf, Window, write_note
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.tuning import TuningScreen

GHOST_HINT = "g re-runs the mic with the tuning panel's settings (c)"
GHOST_HINT_SHORT = "g: ghost run"


def format_diff(ms: int) -> str:
    """A ``turn.end`` difference as drawn after the ghost's end mark: ``-400ms``, ``+20ms``, ``±0``."""
    return "±0" if ms == 0 else f"{ms:+d}ms"


class GhostLane(Lane):
    """The ghost run's turns (line, marks) with each ``turn.end``'s difference in ms."""

    name = "ghost"
    label = "ghost"
    help = "replay: turns with the panel's settings (g), ■ with its turn.end difference, ∅ lost"
    aspects: ClassVar[tuple[str, ...]] = ("ghost",)
    labelled = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        run = model.ghost
        if run is None:
            write_note(cells, win, model.ghost_note or GHOST_HINT, GHOST_HINT_SHORT, style("signal-note"))
            return
        line, mark, diff = style("ghost"), style("ghost-mark"), style("ghost-diff")
        for turn in run.turns:
            end = turn.end if turn.end is not None else model.now_audio_t
            if end < win.start or turn.start >= win.end:
                continue
            cells.fill(win.col(turn.start), win.col(end) + 1, "╌", line)
            cells.put(win.col(turn.start), TURN_MARKS["start"], mark)
            for at in turn.eager_ends:
                cells.put(win.col(at), TURN_MARKS["eager_end"], mark)
            for at in turn.resumes:
                cells.put(win.col(at), TURN_MARKS["resume"], mark)
            if turn.end is not None:
                col = win.col(turn.end)
                cells.put(col, TURN_MARKS["end"], mark)
                label = "new" if turn.turn in run.new_turns else format_diff(turn.end_diff_ms) if turn.end_diff_ms is not None else ""
                cells.text(col + 1, label, diff)
        for at in run.missing:
            if win.start <= at < win.end:
                cells.put(win.col(at), "∅", diff)


class GhostTuningScreen(TuningScreen):
    """The tuning panel of a replay: applying re-runs the recording with the values (the ghost)."""

    def _say_idle(self) -> None:
        self._say("a replay: enter re-runs the recorded mic with these values (ghost lane, g again)")


__all__ = ["GHOST_HINT", "GhostLane", "GhostTuningScreen", "format_diff"]
