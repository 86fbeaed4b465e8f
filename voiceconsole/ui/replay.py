"""The replay and comparison screens of ``voiceconsole replay``.

:class:`ReplayConsoleApp` is the full console (transcript, turn timeline, metrics, TTS queue,
meters from ``audio.level`` events, status) fed from a recording by a
:class:`~voiceconsole.session.player.Player`, on the recorded timing or faster. Its own keys,
chosen not to clash with the console's (see :data:`REPLAY_KEYS`): ``space`` pause/play, ``.``
step one event, ``[``/``]`` seek a second back/forward, ``<``/``>`` slower/faster, ``r``
restart, ``g`` a ghost run. A status line above the footer shows the position, duration, speed
and state. The commands that act on a live session (interrupt, mute, say, barge-in) only say so.

The ghost run re-runs the recorded mic with the tuning panel's settings (``c`` edits them; enter
or ``g`` runs) and shows its turns in the ghost lane under the recorded ones, each ``turn.end``
with its difference in ms (see :mod:`voiceconsole.ui.ghost`).

:class:`ComparisonApp` shows the recorded timeline and the ``--through`` runs aligned on audio
time, with the differences per turn and the p50/p95/max summary.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker

from voiceconsole.engines.base import TurnSettings
from voiceconsole.errors import ConfigError, UserError
from voiceconsole.events import Event, SessionStarted
from voiceconsole.session.compare import (
    THROUGH_ENGINES,
    ComparisonRow,
    Timeline,
    timeline_letter,
)
from voiceconsole.session.ghost import GhostRun, run_ghost
from voiceconsole.session.metrics import METRICS, format_ms
from voiceconsole.session.player import Player
from voiceconsole.session.recording import Recording, describe_config
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.ghost import GhostLane, GhostTuningScreen
from voiceconsole.ui.lanes import LANES, TurnLane
from voiceconsole.ui.meters import MeterState, VuMeters
from voiceconsole.ui.themes import ThemeSet, load_themes
from voiceconsole.ui.timelines import TimelinesView
from voiceconsole.ui.tuning import TuningScreen, config_path_for, settings_from_dict

log = logging.getLogger(__name__)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
SEEK_S = 1.0

REPLAY_KEYS: tuple[tuple[str, str], ...] = (
    ("space", "pause / play the recording"),
    (".", "step: deliver the next event (pauses)"),
    ("[  ]", f"seek {SEEK_S:g} s back / forward"),
    ("<  >", "slower / faster (" + ", ".join(f"×{s:g}" for s in SPEEDS) + ")"),
    ("r", "restart from the beginning"),
    ("c", "tuning panel: enter re-runs the recorded mic with its values (the ghost lane)"),
    ("g", "ghost run: the recorded mic again with the tuning panel's values, under the recorded turns"),
    ("i m s b", "act on a live session only; in a replay they just say so"),
)
"""The replay's own keys, as the help screen lists them."""

_AFTER_TURNS = next(i for i, lane in enumerate(LANES) if isinstance(lane, TurnLane)) + 1
REPLAY_LANES = (*LANES[:_AFTER_TURNS], GhostLane(), *LANES[_AFTER_TURNS:])
"""The console's lanes with the ghost lane under the recorded turns."""

LIVE_ONLY = {
    "interrupt": "interrupt (i)",
    "mute": "mute (m)",
    "say": "say (s)",
    "barge_in": "barge-in on/off (b)",
}


@dataclass(frozen=True)
class ReplaySettings:
    """What the console reads from its settings during a replay."""

    theme: str | None = None
    record: str | None = None


class PlayerClock:
    """The session clock of a replay: the player's playhead (goes back when it seeks back)."""

    virtual = True

    def __init__(self, player: Player) -> None:
        self.player = player

    def now(self) -> float:
        """Session time of the playhead."""
        return self.player.current_t


_REPLAY_CSS = """
#replay-status { height: 1; padding: 0 1; background: $panel; }
"""


class ReplayConsoleApp(VoiceConsoleApp):
    """The console, driven by a :class:`Player` over a recording's events.

    ``wall`` is the player's wall clock (tests may pass a fake one); ``themes`` and ``theme``
    work as in the live console.
    """

    CSS = _REPLAY_CSS
    TITLE = "voiceconsole replay"
    HELP_TITLE = "Replay"
    HELP_KEYS = REPLAY_KEYS
    LANES = REPLAY_LANES
    BINDINGS = [
        Binding("space", "replay_toggle", "play/pause"),
        Binding("full_stop", "replay_step", "step", key_display="."),
        Binding("left_square_bracket", f"replay_seek(-{SEEK_S})", "-1s", key_display="["),
        Binding("right_square_bracket", f"replay_seek({SEEK_S})", "+1s", key_display="]"),
        Binding("less_than_sign", "replay_speed(-1)", "slower", key_display="<"),
        Binding("greater_than_sign", "replay_speed(1)", "faster", key_display=">"),
        Binding("r", "replay_restart", "restart", show=False),
        Binding("g", "ghost", "ghost"),
        # Live-session commands stay on their keys (they explain themselves) but leave the footer.
        Binding("i", "interrupt", "interrupt", show=False),
        Binding("m", "mute", "mute", show=False),
        Binding("s", "say", "say", show=False),
        Binding("b", "toggle_barge_in", "barge-in", show=False),
    ]

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float = 1.0,
        paused: bool = False,
        theme: str | None = None,
        themes: ThemeSet | None = None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recording = recording
        self.player = Player(recording.events, self._deliver, speed=speed, on_reset=self._rewind, wall=wall)
        self.player.paused = paused
        super().__init__(None, settings=ReplaySettings(theme=theme), clock=PlayerClock(self.player), themes=themes)
        self.label = recording.label()
        self._replay_line = Static(id="replay-status")
        self._replay_shown = ""
        self.ghost_settings: TurnSettings | None = None
        """The settings of the last ghost run (the tuning panel opens on them)."""
        self._ghost_keep: tuple[GhostRun | None, str] = (None, "")  # shown again after a seek back

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, Footer):
                yield self._replay_line
            yield widget

    def on_mount(self) -> None:
        self._start_player()
        self.set_interval(1 / 10, self._update_replay_line, name="vc-replay-line")
        self._update_replay_line()

    # --- the player's consumer ----------------------------------------------------------------

    def _deliver(self, event: Event) -> None:
        self.feed(event)

    def _rewind(self) -> None:
        self.reset(())
        self.model.set_ghost(*self._ghost_keep)
        # The meters' ballistics (fall-off, peak hold) run on the session clock, which just went
        # back: start them afresh or they would hold the later, louder readings.
        meters = self.query_one(VuMeters)
        meters.meters = {source: MeterState() for source in meters.meters}

    def _update_replay_line(self) -> None:
        player = self.player
        state = "[b $warning]⏸ paused[/]" if player.paused else ("[b]■ done[/]" if player.done else "[b $success]▶ playing[/]")
        speed = "max" if player.speed == 0 else f"×{player.speed:g}"
        text = (
            f"[b $primary]REPLAY[/] {state}  [b]{player.current_t:6.2f}[/] / {player.duration:.2f} s  {speed}  "
            f"event {player.position}/{len(player.events)}  "
            f"[$foreground-muted]{escape(self.recording.path.name)}: {escape(self.label)}[/]"
            + self._ghost_line()
        )
        if text != self._replay_shown:
            self._replay_shown = text
            self._replay_line.update(text)

    def _ghost_line(self) -> str:
        run = self._ghost_keep[0]
        if run is None:
            return ""
        return f"  [b]ghost[/] {escape(describe_config(run.engine, run.settings.as_dict()))}: {escape(run.summary())}"

    def _start_player(self) -> None:
        self._player_worker = self.run_worker(self.player.run(), exclusive=True, group="player")

    def _after_move(self) -> None:
        # The player's loop ends with the last event; a seek back or a restart needs a new one.
        if self._player_worker.is_finished and not self.player.done:
            self._start_player()
        self._update_replay_line()
        # The status clock ticks once a second; a seek moves it at once (and snapshots agree).
        self.status_bar.tick_clock()
        self.flush()

    # --- replay keys --------------------------------------------------------------------------

    def action_replay_toggle(self) -> None:
        """Pause or resume the recording."""
        self.player.toggle()
        self._after_move()

    def action_replay_step(self) -> None:
        """Deliver the next event now (and stay paused)."""
        self.player.step()
        self._after_move()

    def action_replay_seek(self, seconds: float) -> None:
        """Move the playhead ``seconds`` back (negative) or forward."""
        self.seek(self.player.current_t + seconds)

    def action_replay_restart(self) -> None:
        """Back to the start of the recording."""
        self.seek(0.0)

    def action_replay_speed(self, direction: int) -> None:
        """One step slower (-1) or faster (+1) on :data:`SPEEDS`."""
        current = self.player.speed or SPEEDS[-1]
        index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - current))
        self.player.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, index + direction))])
        self._after_move()

    def seek(self, t: float) -> None:
        """Show the console as it was at session time ``t`` (every event before ``t`` applied)."""
        self.player.seek(t)
        self._after_move()

    # --- the ghost run --------------------------------------------------------------------------

    def _recorded_stt(self) -> tuple[str, TurnSettings]:
        """The recording's STT engine and the turn settings in force at the playhead (the
        session's first ones before the playhead reaches them)."""
        started = next((e for e in self.recording.events if isinstance(e, SessionStarted)), None)
        current = self.model.turn_config or (started.settings.get("turn") if started is not None else None)
        return (started.stt if started is not None else ""), settings_from_dict(current)

    def tuning_screen(self, stt: str, current: TurnSettings) -> TuningScreen:
        """The replay's tuning panel: applying its values starts a ghost run with them."""
        shown = self.ghost_settings or current
        return GhostTuningScreen(stt, shown, GhostTarget(self), config_path_for(self.settings))

    def action_ghost(self) -> None:
        """Re-run the recorded mic with the tuning panel's settings (the recorded ones at first)."""
        stt, recorded = self._recorded_stt()
        self.start_ghost(self.ghost_settings or recorded)

    def start_ghost(self, settings: TurnSettings) -> Worker[None] | None:
        """Run the recorded mic through the recorded engine with ``settings``, off the UI thread;
        the ghost lane shows the run when it is done (a newer run replaces one still going).
        Returns the run's worker (``None`` if it could not start: the lane says why)."""
        stt, _ = self._recorded_stt()
        if stt not in THROUGH_ENGINES:
            self._ghost_failed(f"the recorded STT engine ({stt or 'none'}) cannot re-run the mic")
            return None
        if not self.recording.mic_path.is_file():
            self._ghost_failed(f"{self.recording.path.name} has no mic.wav to re-run; record with --record again")
            return None
        self.ghost_settings = settings
        pace = "" if stt == "local" else " (in real time: a Cartesia engine hears the audio as it was spoken)"
        self._show_ghost(None, f"ghost run with {describe_config(stt, settings.as_dict())}: running{pace}…")
        return self.run_worker(lambda: self._ghost_thread(stt, settings), thread=True, exclusive=True, group="ghost")

    def _ghost_thread(self, stt: str, settings: TurnSettings) -> None:
        try:
            run = asyncio.run(run_ghost(self.recording, stt, settings))
        except UserError as exc:
            self.call_from_thread(self._ghost_failed, str(exc))
            return
        except Exception as exc:  # a bug in a run must not take the replay down: shown, logged
            log.exception("ghost run failed")
            self.call_from_thread(self._ghost_failed, f"{type(exc).__name__}: {exc}")
            return
        self.call_from_thread(self._ghost_done, run)

    def _ghost_done(self, run: GhostRun) -> None:
        if run.settings != self.ghost_settings:
            return  # a newer run was asked for while this one ran
        self._show_ghost(run, "")

    def _ghost_failed(self, message: str) -> None:
        self._show_ghost(None, f"ghost run failed: {message}")
        self.notify(message, title="ghost run failed", severity="error")

    def _show_ghost(self, run: GhostRun | None, note: str) -> None:
        self._ghost_keep = (run, note)
        self.model.set_ghost(run, note)
        self._update_replay_line()
        self.flush()

    # --- live-only commands -------------------------------------------------------------------

    def _live_only(self, what: str) -> None:
        self.notify(
            f"{LIVE_ONLY[what]} acts on a live session; this is a replay of a recording "
            "(space pauses, . steps, [ ] seek)",
            title="replay",
            severity="warning",
            timeout=4,
        )

    def action_interrupt(self) -> None:
        """Not available in a replay: says so."""
        self._live_only("interrupt")

    def action_mute(self) -> None:
        """Not available in a replay: says so."""
        self._live_only("mute")

    def action_say(self) -> None:
        """Not available in a replay: says so."""
        self._live_only("say")

    def action_toggle_barge_in(self) -> None:
        """Not available in a replay (the recorded setting is shown): says so."""
        self._live_only("barge_in")



class GhostTarget:
    """Where a replay's tuning panel sends the settings it applies: a ghost run."""

    def __init__(self, app: ReplayConsoleApp) -> None:
        self.app = app

    def update_turn_settings(self, settings: TurnSettings) -> None:
        """Start a ghost run with ``settings``."""
        self.app.start_ghost(settings)


class ComparisonApp(App[int]):
    """The recorded timeline and the ``--through`` runs, aligned on audio time.

    ``theme`` names one of ``themes`` (the project's theme files); without it Textual's default.
    """

    CSS = """
Screen { layout: vertical; }
#title { height: 1; padding: 0 1; text-style: bold; }
DataTable { height: auto; max-height: 14; margin: 1 1 0 1; }
"""
    TITLE = "voiceconsole replay: comparison"
    BINDINGS = [Binding("q", "quit", "quit")]

    def __init__(
        self,
        recording: Recording,
        timelines: Sequence[Timeline],
        rows: Sequence[ComparisonRow],
        *,
        theme: str | None = None,
        themes: ThemeSet | None = None,
    ) -> None:
        super().__init__()
        self.recording = recording
        self.timelines = list(timelines)
        self.rows = list(rows)
        if theme:
            theme_set = themes if themes is not None else load_themes()
            for textual_theme in theme_set.textual_themes():
                self.register_theme(textual_theme)
            self.theme = theme_set.resolve(theme)

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


def checked_themes(theme: str | None) -> ThemeSet:
    """The project's themes; raises :class:`ConfigError` for a ``--theme`` that names none of them.

    A theme whose file exists but does not validate is not an error here: the app falls back and
    shows the file's problem, like the live console.
    """
    themes = load_themes()
    broken = any(theme and f"{theme}.toml" in p for p in themes.problems)
    if theme and theme not in themes.themes and not broken and themes.themes:
        raise ConfigError(f"--theme {theme}: unknown theme; choose one of {', '.join(themes.names)}")
    return themes


def run_replay_app(recording: Recording, *, speed: float = 1.0, paused: bool = False, theme: str | None = None) -> int:
    """Open the console on the recording; returns the exit code."""
    app = ReplayConsoleApp(recording, speed=speed, paused=paused, theme=theme, themes=checked_themes(theme))
    result = app.run()
    return int(result if result is not None else app.exit_code)


def run_comparison_app(
    recording: Recording, timelines: Sequence[Timeline], rows: Sequence[ComparisonRow], *, theme: str | None = None
) -> int:
    """Open the comparison screen; returns the exit code."""
    app = ComparisonApp(recording, timelines, rows, theme=theme, themes=checked_themes(theme) if theme else None)
    app.run()
    return 0
