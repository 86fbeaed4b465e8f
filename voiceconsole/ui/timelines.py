"""Turn timelines drawn side by side on one audio-time axis (replay and engine comparison).

Each timeline gets a lane: ``━`` while a turn is open, its number where it starts, ``e`` at a
``turn.eager_end``, ``r`` at a ``turn.resume``, ``┃`` at ``turn.end``. Above them one lane shows
the reference VAD's speech (the same audio, so the same for every timeline), below them an axis
in seconds. Drawing is a pure function of the events and the width, so screenshots are stable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.markup import escape
from textual.widgets import Static

from voiceconsole.events import (
    Event,
    SpeechStarted,
    SpeechStopped,
    TurnEagerEnd,
    TurnEnd,
    TurnResume,
    TurnStart,
)
from voiceconsole.session.compare import Timeline, timeline_letter

LABEL_WIDTH = 9


def _cell(at: float, duration: float, cells: int) -> int:
    return min(cells - 1, max(0, int(at / duration * cells))) if duration > 0 else 0


def speech_lane(events: Sequence[Event], duration: float, cells: int) -> str:
    """``▇`` where the reference VAD heard speech (audio time), ``·`` elsewhere."""
    lane = ["·"] * cells
    start: float | None = None
    spans: list[tuple[float, float]] = []
    for e in events:
        if isinstance(e, SpeechStarted):
            start = e.speech_audio_t
        elif isinstance(e, SpeechStopped) and start is not None:
            spans.append((start, e.speech_audio_t))
            start = None
    if start is not None:
        spans.append((start, events[-1].audio_t if events else start))
    for a, b in spans:
        for i in range(_cell(a, duration, cells), _cell(b, duration, cells) + 1):
            lane[i] = "▇"
    return "".join(lane)


def turn_lane(events: Sequence[Event], duration: float, cells: int) -> list[tuple[str, str]]:
    """The turn lane as ``(char, kind)`` cells; kind picks the colour."""
    lane: list[tuple[str, str]] = [(" ", "")] * cells
    open_at: dict[int, float] = {}
    marks: list[tuple[float, str, str]] = []
    for e in events:
        if isinstance(e, TurnStart):
            open_at[e.turn] = e.audio_t
            marks.append((e.audio_t, str(e.turn % 10), "start"))
        elif isinstance(e, TurnEagerEnd):
            marks.append((e.audio_t, "e", "eager"))
        elif isinstance(e, TurnResume):
            marks.append((e.audio_t, "r", "resume"))
        elif isinstance(e, TurnEnd):
            start = open_at.pop(e.turn, e.audio_t)
            for i in range(_cell(start, duration, cells), _cell(e.audio_t, duration, cells)):
                lane[i] = ("━", "turn")
            marks.append((e.audio_t, "┃", "end"))
    now = events[-1].audio_t if events else 0.0
    for start in open_at.values():
        for i in range(_cell(start, duration, cells), _cell(now, duration, cells) + 1):
            lane[i] = ("━", "turn")
    for at, char, kind in marks:  # marks drawn last, in order, so the latest wins a shared cell
        lane[_cell(at, duration, cells)] = (char, kind)
    return lane


def axis(duration: float, cells: int) -> str:
    """Second ticks under the lanes (every 1, 2, 5 or 10 s, whatever fits)."""
    line = [" "] * cells
    if duration <= 0:
        return "".join(line)
    step = next((s for s in (1, 2, 5, 10, 30, 60) if cells / duration * s >= 6), 120)
    for k in range(0, int(math.floor(duration / step)) + 1):
        label = f"{k * step}s"
        i = _cell(k * step, duration, cells)
        if i + len(label) <= cells:
            line[i : i + len(label)] = list(label)
    return "".join(line)


_STYLE = {"turn": "$primary", "start": "bold $primary", "eager": "bold $warning", "resume": "bold $error", "end": "bold $success"}


def render_timelines(timelines: Sequence[Timeline], width: int, duration: float | None = None) -> str:
    """Textual markup: the VAD lane, one turn lane per timeline, the axis and a legend."""
    cells = max(10, width - LABEL_WIDTH - 1)
    if duration is None:
        duration = max((t.events[-1].audio_t for t in timelines if t.events), default=0.0)
    duration = max(duration, 1.0)
    lines = [f"[$text-muted]{'speech':<{LABEL_WIDTH}}[/] [$accent]{speech_lane(timelines[0].events if timelines else [], duration, cells)}[/]"]
    for index, timeline in enumerate(timelines):
        parts = []
        for char, kind in turn_lane(timeline.events, duration, cells):
            style = _STYLE.get(kind)
            parts.append(f"[{style}]{escape(char)}[/]" if style else char)
        name = f"{timeline_letter(index)} turns"
        lines.append(f"[b]{name:<{LABEL_WIDTH}}[/] " + "".join(parts))
    lines.append(f"{'':<{LABEL_WIDTH}} [$text-muted]{axis(duration, cells)}[/]")
    lines.append(
        f"{'':<{LABEL_WIDTH}} [$text-muted]n turn starts  ━ open  [/][bold $warning]e[/][$text-muted] eager end  "
        f"[/][bold $error]r[/][$text-muted] resume  [/][bold $success]┃[/][$text-muted] end[/]"
    )
    return "\n".join(lines)


class TimelinesView(Static):
    """The lanes of one or more timelines, redrawn to the widget's width."""

    DEFAULT_CSS = """
    TimelinesView { height: auto; padding: 0 1; }
    """

    def __init__(self, timelines: Sequence[Timeline] = (), duration: float | None = None, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.timelines = list(timelines)
        self.duration = duration

    def show(self, timelines: Sequence[Timeline], duration: float | None = None) -> None:
        """Replace the timelines and redraw."""
        self.timelines = list(timelines)
        self.duration = duration
        self._redraw()

    def on_mount(self) -> None:
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        width = self.content_region.width or self.app.size.width - 2
        self.update(render_timelines(self.timelines, width, self.duration))
