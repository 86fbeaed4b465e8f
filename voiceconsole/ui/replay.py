"""The replay and comparison screens of ``voiceconsole replay``.

:class:`ReplayApp` plays a recording with its original timing (or faster) through a
:class:`~voiceconsole.session.player.Player`: space pauses, ``.`` steps one event, ``←``/``→``
seek a second, ``home`` restarts, ``+``/``-`` change the speed. :class:`ComparisonApp` shows
the recorded timeline and the ``--through`` runs aligned on audio time, with the differences
per turn and the p50/p95/max summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import DataTable, Footer, Static

from voiceconsole.events import Event
from voiceconsole.session.compare import ComparisonRow, Timeline, timeline_letter
from voiceconsole.session.metrics import METRICS, format_ms
from voiceconsole.session.player import Player
from voiceconsole.session.recording import Recording
from voiceconsole.ui.timelines import TimelinesView

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)

_CSS = """
Screen { layout: vertical; }
#status { height: 1; padding: 0 1; background: $panel; }
#title { height: 1; padding: 0 1; text-style: bold; }
DataTable { height: auto; max-height: 14; margin: 1 1 0 1; }
#transcript { height: 1fr; padding: 0 1; }
"""


class ReplayApp(App[int]):
    """Replays a recording's events on their recorded timing, with pause, step and seek."""

    CSS = _CSS
    TITLE = "voiceconsole replay"
    BINDINGS = [
        Binding("space", "toggle", "pause/play"),
        Binding("full_stop", "step", "step"),
        Binding("left", "seek(-1)", "-1 s"),
        Binding("right", "seek(1)", "+1 s"),
        Binding("home", "restart", "restart"),
        Binding("plus", "speed(1)", "faster"),
        Binding("minus", "speed(-1)", "slower"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, recording: Recording, *, speed: float = 1.0, paused: bool = False) -> None:
        super().__init__()
        self.recording = recording
        self.delivered: list[Event] = []
        self.player = Player(recording.events, self.delivered.append, speed=speed, on_reset=self.delivered.clear)
        self.player.paused = paused
        self._drawn = -1
        self.label = recording.label()
        self.audio_duration = recording.events[-1].audio_t

    def compose(self) -> ComposeResult:
        yield Static(f"{escape(self.recording.path.name)}: {escape(self.label)}", id="title")
        yield TimelinesView(duration=self.audio_duration, id="timelines")
        yield VerticalScroll(Static("", id="turns"), id="transcript")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self.player.run(), exclusive=True, group="player")
        self.set_interval(1 / 15, self.refresh_view)
        self.refresh_view()

    def refresh_view(self) -> None:
        """Redraw what changed since the last tick."""
        key = len(self.delivered) * 4 + int(self.player.paused)
        if key != self._drawn:
            self._drawn = key
            timeline = Timeline.of(self.label, list(self.delivered))
            self.query_one(TimelinesView).show([timeline], self.audio_duration)
            lines = []
            for tm in timeline.metrics.turns:
                timing = f"stop→end {format_ms(tm.end_of_turn_delay)}, resumes {tm.resumes}" if tm.ended else "open"
                lines.append(f"[b]turn {tm.turn}[/] [$text-muted]({timing})[/] {escape(tm.transcript)}")
            self.query_one("#turns", Static).update("\n".join(lines) or "[$text-muted](no turns yet)[/]")
        state = "paused" if self.player.paused else ("done" if self.player.done else "playing")
        speed = "max" if self.player.speed == 0 else f"×{self.player.speed:g}"
        self.query_one("#status", Static).update(
            f"{state}  {self.player.current_t:6.2f} / {self.player.duration:.2f} s  {speed}  "
            f"event {self.player.position}/{len(self.player.events)}"
        )

    def action_toggle(self) -> None:
        self.player.toggle()
        self.refresh_view()

    def action_step(self) -> None:
        self.player.step()
        self.refresh_view()

    def action_seek(self, seconds: float) -> None:
        self.player.seek(self.player.current_t + seconds)
        self.refresh_view()

    def action_restart(self) -> None:
        self.player.seek(0.0)
        self.refresh_view()

    def action_speed(self, direction: int) -> None:
        current = self.player.speed or SPEEDS[-1]
        index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - current))
        self.player.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, index + direction))])
        self.refresh_view()


class ComparisonApp(App[int]):
    """The recorded timeline and the ``--through`` runs, aligned on audio time."""

    CSS = _CSS
    TITLE = "voiceconsole replay: comparison"
    BINDINGS = [Binding("q", "quit", "quit")]

    def __init__(self, recording: Recording, timelines: Sequence[Timeline], rows: Sequence[ComparisonRow]) -> None:
        super().__init__()
        self.recording = recording
        self.timelines = list(timelines)
        self.rows = list(rows)

    def compose(self) -> ComposeResult:
        names = "  ".join(f"[b]{timeline_letter(i)}[/] {escape(t.label)}" for i, t in enumerate(self.timelines))
        yield Static(f"{escape(self.recording.path.name)}: {names}", id="title")
        yield TimelinesView(self.timelines, id="timelines")
        yield DataTable(id="turn-diffs", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="summary", cursor_type="none")
        yield Footer()

    def on_mount(self) -> None:
        diffs = self.query_one("#turn-diffs", DataTable)
        diffs.add_column("audio s")
        for i in range(len(self.timelines)):
            letter = timeline_letter(i)
            diffs.add_column(f"{letter} turn")
            diffs.add_column(f"{letter} stop→end")
        diffs.add_column("differences")
        for row in self.rows:
            cells = [f"{row.start:.2f}-{row.end:.2f}"]
            for turns in row.turns:
                cells.append("+".join(str(t.turn) for t in turns) or "—")
                cells.append(format_ms(turns[-1].end_of_turn_delay) if turns else "—")
            cells.append("; ".join(row.differences()) or "same")
            diffs.add_row(*cells)
        summary = self.query_one("#summary", DataTable)
        summary.add_column("metric")
        for i in range(len(self.timelines)):
            summary.add_column(f"{timeline_letter(i)} p50 / p95 / max")
        for info in METRICS:
            cells = [info.label]
            for t in self.timelines:
                s = t.metrics.summary[info.key]
                if not s.count:
                    cells.append("—")
                elif info.unit == "count":
                    cells.append(" / ".join(f"{v:g}" for v in (s.p50, s.p95, s.max)))  # type: ignore[union-attr]
                else:
                    cells.append(" / ".join(format_ms(v) for v in (s.p50, s.p95, s.max)))
            summary.add_row(*cells)


def run_replay_app(recording: Recording, *, speed: float = 1.0, paused: bool = False, theme: str | None = None) -> int:
    """Open the replay screen; returns the exit code."""
    app = ReplayApp(recording, speed=speed, paused=paused)
    _apply_theme(app, theme)
    app.run()
    return 0


def run_comparison_app(
    recording: Recording, timelines: Sequence[Timeline], rows: Sequence[ComparisonRow], *, theme: str | None = None
) -> int:
    """Open the comparison screen; returns the exit code."""
    app = ComparisonApp(recording, timelines, rows)
    _apply_theme(app, theme)
    app.run()
    return 0


def _apply_theme(app: App[int], theme: str | None) -> None:
    if not theme:
        return
    from voiceconsole.errors import ConfigError

    if theme not in app.available_themes:
        raise ConfigError(f"--theme {theme}: unknown theme; choose one of {', '.join(sorted(app.available_themes))}")
    app.theme = theme
