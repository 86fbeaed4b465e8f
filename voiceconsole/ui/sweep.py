"""``voiceconsole sweep --ui``: the curve and the table of a finished sweep.

The curve (plotext, as in the terminal, drawn without colour so the theme colours it) marks
the grid point under the table's cursor; the panel beside it shows that point's settings and
scores and the recording with the most cut-offs there. ``o`` leaves this screen asking the
command to open that recording in the replay console, run through the point's settings (the
command brings this screen back when the replay is closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.markup import escape
from textual.widgets import DataTable, Footer, Static

from voiceconsole.sweep.report import TABLE_HEADER, curve, headline, table_rows
from voiceconsole.sweep.results import PointResult, SweepResult
from voiceconsole.ui.themes import ThemeSet, load_themes


@dataclass(frozen=True)
class OpenRecording:
    """What the sweep screen asks the command to open: a recording at a grid point."""

    recording: str
    point: int


class SweepApp(App["OpenRecording | None"]):
    """Curve, table and the selected grid point; ``o`` opens its worst recording."""

    CSS = """
Screen { layout: vertical; }
#sweep-title { height: auto; padding: 0 1; text-style: bold; color: $vc-turn; }
#sweep-top { height: 1fr; min-height: 12; }
#sweep-curve { width: 2fr; height: 100%; padding: 0 1; color: $foreground; }
#sweep-detail { width: 1fr; height: 100%; padding: 0 1; border-left: solid $vc-threshold; }
#sweep-table { height: 1fr; min-height: 5; }
"""
    TITLE = "voiceconsole sweep"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_worst", "open worst recording"),
        Binding("q", "quit_sweep", "quit"),
    ]

    def __init__(
        self,
        result: SweepResult,
        *,
        selected: int = 0,
        theme: str | None = None,
        themes: ThemeSet | None = None,
    ) -> None:
        super().__init__()
        self.result = result
        self.selected = max(0, min(selected, len(result.points) - 1))
        theme_set = themes if themes is not None else load_themes()
        for textual_theme in theme_set.textual_themes():
            self.register_theme(textual_theme)
        self.theme = theme_set.resolve(
            theme
        )  # the console's default theme when none is named

    def compose(self) -> ComposeResult:
        r = self.result
        yield Static(
            escape(
                f"{len(r.recordings)} recordings x {len(r.points)} grid points through {r.engine} | {r.truth}"
            ),
            id="sweep-title",
        )
        with Horizontal(id="sweep-top"):
            yield Static("", id="sweep-curve")
            yield Static("", id="sweep-detail")
        yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#sweep-table", DataTable)
        table.add_columns(*TABLE_HEADER)
        for row in table_rows(self.result):
            table.add_row(*row)
        table.move_cursor(row=self.selected)
        table.focus()
        self.show_point()

    @property
    def point(self) -> PointResult:
        """The grid point under the cursor."""
        return self.result.points[self.selected]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected = event.cursor_row
        self.show_point()

    def on_resize(self) -> None:
        self.show_point()

    def show_point(self) -> None:
        """Redraw the curve with the selection marked, and the selection's panel."""
        if not self.is_mounted or not self.result.points:
            return
        box = self.query_one("#sweep-curve", Static)
        width, height = box.content_size.width or 60, box.content_size.height or 16
        box.update(
            escape(curve(self.result, width=width, height=height, selected=self.point))
        )
        p = self.point
        lines = [f"[b]#{p.index}[/b]"]
        lines += [f"  {escape(k)} = {v}" for k, v in p.point.as_dict().items()]
        rate = "—" if p.cutoff_rate is None else f"{p.cutoff_rate * 100:.1f}%"
        p50 = "—" if p.p50_ms is None else f"{p.p50_ms:.0f} ms"
        p95 = "—" if p.p95_ms is None else f"{p.p95_ms:.0f} ms"
        lines += [
            "",
            f"delay p50 {p50}, p95 {p95}",
            f"cut-offs {p.cutoffs} of {p.turns} turn ends ({rate})",
            f"eager resumes {p.eager_resumes}",
            f"recordings {p.recordings}" + (f", {p.failed} failed" if p.failed else ""),
            "on the Pareto frontier" if p.pareto else "not on the Pareto frontier",
            "",
        ]
        worst = p.worst_recording()
        if worst is None:
            lines.append("no cut-offs here")
        else:
            lines.append(
                f"most cut-offs: [b]{escape(worst)}[/b] ({p.per_recording[worst].cutoffs}); o opens it"
            )
        lines += ["", *(escape(line) for line in headline(self.result)[:2])]
        self.query_one("#sweep-detail", Static).update("\n".join(lines))

    def action_open_worst(self) -> None:
        """Leave, asking for the selected point's worst recording in the replay console."""
        worst = self.point.worst_recording()
        if worst is None:
            self.notify(
                "no recording has a cut-off at this grid point",
                title="sweep",
                severity="warning",
            )
            return
        self.exit(OpenRecording(worst, self.point.index))

    def action_quit_sweep(self) -> None:
        """Leave the sweep screen."""
        self.exit(None)


def run_sweep_app(
    result: SweepResult, *, selected: int = 0, theme: str | None = None
) -> OpenRecording | None:
    """Show the sweep; returns what to open next, or ``None`` when the user quit."""
    from voiceconsole.ui.replay import checked_themes

    app = SweepApp(result, selected=selected, theme=theme, themes=checked_themes(theme))
    return app.run()
