"""The Textual console: transcript, turn timeline, metrics, TTS queue, VU meters and status.

The app is a consumer of events plus a source of commands; it holds no audio or network logic.

``VoiceConsoleApp(controller=None, *, settings=None, clock=None, events=(), themes=None)``

* ``controller``: a :class:`~voiceconsole.session.controller.Controller` (a live session, the
  session on its own thread, or a scripted stand-in) that receives the user's commands and whose
  events the app shows. If it is not running yet, the app runs it and quits once it has
  returned, so engines close cleanly. ``None``: events come from :meth:`VoiceConsoleApp.feed`
  only (a replay) and the keys only change the display.
* ``settings``: :class:`ConsoleSettings` (theme, record dir), e.g. :class:`~voiceconsole.config.Settings`.
* ``clock``: anything with ``now() -> float`` in session seconds (a virtual clock for replays and
  snapshots); default: the controller's clock, else real time.
* ``events``: events applied before the first frame (a scripted or recorded session).
* ``themes``: a :class:`~voiceconsole.ui.themes.ThemeSet` (default: loaded from the theme folders).

``app.feed(event)`` applies one more event on the app's loop; ``app.reset(events)`` starts over
(a replay seeking backwards); ``app.model`` is the :class:`~voiceconsole.ui.model.ConsoleModel`;
``app.flush()`` brings every panel up to date now (tests call it before a snapshot).

Frames: one timer draws 15 frames a second while events flow (meters, "now", heard words) and
stops at rest; a burst of events other than level readings is drawn at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import ClassVar, Protocol

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Footer, Input

from voiceconsole.clock import RealClock
from voiceconsole.engines.base import TurnSettings
from voiceconsole.events import AudioLevel, Event, VadSignalBatch
from voiceconsole.session.controller import BatchedEventSource, ClockReader, Controller
from voiceconsole.ui.entries import ErrorInfo
from voiceconsole.ui.lanes import LANES, Lane
from voiceconsole.ui.meters import VuMeters
from voiceconsole.ui.metrics_table import MetricsTable
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.queue import QueueView
from voiceconsole.ui.screens import HelpScreen
from voiceconsole.ui.status import ErrorBanner, StatusBar
from voiceconsole.ui.themes import ThemeSet, load_themes
from voiceconsole.ui.timeline import TimelineGutter, TimelineView
from voiceconsole.ui.transcript import TranscriptView
from voiceconsole.ui.tuning import TuningScreen, config_path_for, settings_from_dict
from voiceconsole.ui.waterfall import WaterfallScreen

log = logging.getLogger(__name__)

COMPACT_BELOW = 32
"""Terminal rows under which the timeline shows only :data:`COMPACT_LANES` (at 80x24 every lane
would leave the transcript five rows and the TTS queue none)."""
COMPACT_LANES = frozenset({"axis", "ticks", "mic", "turn", "gap1", "reply", "speaker", "ghost"})
"""The lanes kept on a short terminal: levels, turns, stop → end, replies (and a replay's ghost)."""

FRAME_HZ = 15
"""Frames a second while events flow: the meters and the heard words move together (each frame
shows the loudest block since the one before)."""
REST_AFTER_FRAMES = 8
"""Quiet frames (no event, meters still, no reply being heard) before the frames stop."""
LAZY_EVENTS = frozenset({AudioLevel, VadSignalBatch})
"""Events a session on its own thread may hold back until the next frame while frames run."""


class ConsoleSettings(Protocol):
    """What the console reads from its settings (:class:`~voiceconsole.config.Settings` has it)."""

    theme: str | None
    record: str | None


class VoiceConsoleApp(App[int]):
    """The console. See the module docstring for the API."""

    CSS_PATH = "app.tcss"
    TITLE = "voiceconsole"
    LANES: ClassVar[tuple[Lane, ...]] = LANES
    """The timeline's rows (the replay adds its ghost lane)."""
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("i", "interrupt", "interrupt"),
        Binding("m", "mute", "mute"),
        Binding("s", "say", "say"),
        Binding("q", "quit", "quit"),
        Binding("question_mark,f1", "help", "help", key_display="?"),
        Binding("p", "toggle_follow", "pause"),
        Binding("plus,equals_sign", "zoom(-1)", "zoom in", key_display="+"),
        Binding("minus", "zoom(1)", "zoom out", key_display="-"),
        Binding("b", "toggle_barge_in", "barge-in"),
        Binding("a", "toggle_raw_mic", "raw mic", show=False),
        Binding("t", "next_theme", "theme"),
        Binding("w", "waterfall", "waterfall"),
        Binding("c", "tune", "tune"),
        Binding("left", "pan(-0.25)", "back", show=False),
        Binding("right", "pan(0.25)", "forward", show=False),
        Binding("home", "pan_home", "start", show=False),
        Binding("end", "live", "live", show=False),
        Binding("escape", "dismiss_error", "hide error", show=False),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    muted: reactive[bool] = reactive(False)
    """Whether the mic is muted (the session's state, shown in the status line)."""
    auto_barge_in: reactive[bool | None] = reactive(None)
    """Whether a turn start interrupts the reply (``None``: not known yet)."""
    stopping: reactive[bool] = reactive(False)
    """Quit was asked for and the session is closing its engines."""

    def __init__(
        self,
        controller: Controller | None = None,
        *,
        settings: ConsoleSettings | None = None,
        clock: ClockReader | None = None,
        events: Iterable[Event] = (),
        themes: ThemeSet | None = None,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.settings = settings
        self.clock: ClockReader = clock or (controller.clock if controller is not None else RealClock())
        self.model = ConsoleModel.from_events(events)
        self.theme_set = themes if themes is not None else load_themes()
        for theme in self.theme_set.textual_themes():
            self.register_theme(theme)
        wanted = settings.theme if settings is not None else None
        self.theme = self.theme_set.resolve(wanted)
        self._theme_notice = self._theme_problems(wanted)
        self.exit_code = 0
        self._session_task: asyncio.Task[None] | None = None
        self._frames: Timer | None = None
        self._batched: BatchedEventSource | None = None  # a bus that can hold levels back
        self._frame_due = False  # a frame for a burst of events is scheduled
        self._events_since_frame = False
        self._quiet_frames = 0

    def _theme_problems(self, wanted: str | None) -> str | None:
        lines = list(self.theme_set.problems)
        if wanted and wanted not in self.theme_set.themes:
            lines.append(f"no usable theme named {wanted!r}; using {self.theme!r}")
        return "\n".join(lines) if lines else None

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        now = self.clock.now
        self.status_bar = StatusBar(self.model, now, id="status").data_bind(
            muted=VoiceConsoleApp.muted, barge_in=VoiceConsoleApp.auto_barge_in, stopping=VoiceConsoleApp.stopping
        )
        self.banner = ErrorBanner(id="banner")
        self.transcript = TranscriptView(self.model, now, id="transcript")
        self.tts_queue = QueueView(self.model, id="queue")
        self.meters = VuMeters(now, id="meters")
        self.timeline = TimelineView(self.model, lanes=self.LANES, id="timeline")
        self.metrics_table = MetricsTable(self.model.metrics, id="metrics")
        self.say_line = Input(placeholder="a line for the bot to say — enter speaks it, escape cancels", id="say")
        yield self.status_bar
        yield self.banner
        with Horizontal(id="main"):
            yield self.transcript
            with Vertical(id="side"):
                yield self.tts_queue
                yield self.meters
        with Horizontal(id="bottom"):
            with Horizontal(id="timeline-box"):
                yield TimelineGutter(self.LANES, id="gutter")
                yield self.timeline
            yield self.metrics_table
        yield self.say_line
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.transcript.border_title = "transcript"
        self.tts_queue.border_title = "TTS queue"
        self.meters.border_title = "levels"
        self.query_one("#timeline-box").border_title = "turn timeline"
        self.metrics_table.border_title = "turn metrics"
        self.fit_lanes(self.size.height)
        self.say_line.cursor_blink = False
        self.status_bar.recording = bool(self.settings is not None and self.settings.record)
        self.set_focus(self.timeline)
        if self._theme_notice:
            self.notify(self._theme_notice, title="themes", severity="warning", timeout=10)
        self._frames = self.set_interval(1 / FRAME_HZ, self._frame, name="vc-frames")
        controller = self.controller
        if controller is not None:
            controller.bus.add_listener(self.feed)
            if isinstance(controller.bus, BatchedEventSource):
                self._batched = controller.bus
            self._set_lazy(True)
            if not controller.running:
                self._session_task = asyncio.create_task(self._run_session(), name="vc-session")
        self.flush()

    def on_resize(self, event: events.Resize) -> None:
        self.fit_lanes(event.size.height)

    def fit_lanes(self, height: int) -> None:
        """Show every lane, or on a terminal under :data:`COMPACT_BELOW` rows the essential
        ones (:data:`COMPACT_LANES`), and make the timeline as tall as its lanes."""
        lanes = self.LANES if height >= COMPACT_BELOW else tuple(lane for lane in self.LANES if lane.name in COMPACT_LANES)
        if lanes != self.timeline.lanes:
            self.timeline.set_lanes(lanes)
            self.query_one(TimelineGutter).set_lanes(lanes)
        # As tall as its lanes, plus the scrollbar and the box's border.
        rows = len(lanes)
        self.query_one(TimelineGutter).styles.height = rows
        self.timeline.styles.height = rows + 1
        self.query_one("#bottom").styles.height = rows + 3

    def _set_lazy(self, lazy: bool) -> None:
        # While frames run, level readings from a session thread wait for the next frame; at
        # rest every event must wake the console (the first one starts the frames again).
        if self._batched is not None:
            self._batched.deliver_lazily(LAZY_EVENTS if lazy else ())

    async def _run_session(self) -> None:
        assert self.controller is not None
        try:
            await self.controller.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown, never a crash: the user reads it and quits
            from voiceconsole.errors import UserError

            if isinstance(exc, UserError):
                self.exit_code = exc.exit_code
                message = str(exc)
            else:
                log.exception("session failed")
                self.exit_code = 1
                message = f"{type(exc).__name__}: {exc}"
            if not self.model.errors:
                self.model.add_error(ErrorInfo("session", "", message, "", True, self.clock.now()))
        finally:
            self.model.versions.status = self.model.bump()
            self._draw_soon()

    # --- events in and frames -------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        """Apply one event. A level reading or turn signal is drawn with the next frame; any other event at once
        (once the current burst is over)."""
        self.model.apply(event)
        self._events_since_frame = True
        if self._frames is None:
            return
        if self.resting:
            self._wake()
        if type(event) not in LAZY_EVENTS:
            self._draw_soon()

    def reset(self, events: Iterable[Event] = ()) -> None:
        """Start over from ``events`` (a replay seeking backwards)."""
        self.model = ConsoleModel.from_events(events)
        for view in (self.transcript, self.tts_queue, self.timeline):
            view.reset(self.model)
        self.metrics_table.show(self.model.metrics)
        self.flush()

    def _draw_soon(self) -> None:
        if not self._frame_due and self._frames is not None:
            self._frame_due = True
            self.call_later(self._event_frame)

    def _event_frame(self) -> None:
        if self._frame_due:
            self._frame()
            if self._frames is not None and not self.resting:
                self._frames.reset()  # the next frame comes one period after this one

    @property
    def resting(self) -> bool:
        """True while the frames are stopped (nothing moved for a while); the next event wakes them."""
        return self._quiet_frames >= REST_AFTER_FRAMES

    def _wake(self) -> None:
        self._quiet_frames = 0
        self._set_lazy(True)
        if self._frames is not None:
            self._frames.resume()

    def _frame(self) -> None:
        if not self.is_running:  # shutting down: the panels are being taken apart
            if self._frames is not None:
                self._frames.stop()
                self._frames = None
            return
        if self._batched is not None:
            self._batched.drain()
        moved = self.flush()
        if moved or self._events_since_frame:
            self._quiet_frames = 0
        else:
            self._quiet_frames += 1
            if self._quiet_frames == REST_AFTER_FRAMES and self._frames is not None:
                self._frames.pause()
                self._set_lazy(False)
        self._events_since_frame = False

    def flush(self) -> bool:
        """Bring every panel up to date with the model now; True if the meters moved or a reply
        is being heard."""
        self._frame_due = False
        if self._frames is None:
            return False
        self._read_meters()
        moved = self.meters.update()
        self.transcript.update()
        self.tts_queue.update()
        self.timeline.update()
        self.metrics_table.update()
        self.status_bar.show(self.model)
        self.banner.show(self.model)
        controller = self.controller
        self.muted = controller.muted if controller is not None else self.model.muted
        self.auto_barge_in = controller.options.auto_barge_in if controller is not None else self.model.auto_barge_in
        return moved or self.model.playing_reply() is not None

    def _read_meters(self) -> None:
        if self.controller is not None:
            slots = self.controller.meters
            for source, slot in (("mic", slots.mic), ("speaker", slots.speaker)):
                rms, peak = slot.take_levels()
                self.meters.set_levels(source, rms, peak, slot.clips)
            return
        for source, level in self.model.last_level.items():
            if source in self.meters.meters:  # the raw mic has no meter: the lane shows it
                self.meters.set_levels(source, level.rms_dbfs, level.peak_dbfs, 0)

    # --- actions --------------------------------------------------------------------------------

    def action_interrupt(self) -> None:
        """Barge in: silence the reply now and cancel the queue."""
        if self.controller is not None:
            self.controller.interrupt("key")

    def action_mute(self) -> None:
        """Mute or unmute the mic."""
        if self.controller is not None:
            self.controller.set_muted(not self.muted)
        self.muted = not self.muted

    def action_say(self) -> None:
        """Open the line to type text for the bot to speak."""
        self.say_line.add_class("-visible")
        self.say_line.focus()

    @on(Input.Submitted, "#say")
    def _said(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        self._close_say()
        if text and self.controller is not None:
            self.controller.say(text)

    def _close_say(self) -> None:
        self.say_line.remove_class("-visible")
        self.set_focus(self.timeline)

    @on(Input.Blurred, "#say")
    def _say_blurred(self) -> None:
        self.say_line.remove_class("-visible")

    def action_toggle_follow(self) -> None:
        """Pause the timeline where it is, or follow live again."""
        self.timeline.follow = not self.timeline.follow

    def action_live(self) -> None:
        """Jump to now and follow live."""
        self.timeline.follow = True

    def action_zoom(self, steps: int) -> None:
        """Zoom the timeline in (-1) or out (+1)."""
        self.timeline.zoom(steps)

    def action_pan(self, fraction: float) -> None:
        """Scroll the timeline back or forward (pauses following)."""
        self.timeline.pan(fraction)

    def action_pan_home(self) -> None:
        """Scroll to the start of the session."""
        self.timeline.pan_home()

    @on(TimelineView.ViewChanged)
    def _timeline_changed(self) -> None:
        self.status_bar.follow = self.timeline.follow
        self.status_bar.zoom_ms = self.timeline.zoom_ms
        self._draw_soon()

    def action_toggle_raw_mic(self) -> None:
        """Draw the microphone's level before echo cancellation under the mic lane's, or stop."""
        shown = self.model.toggle_raw_mic()
        if shown and not self.model.mic_raw:
            self.notify("no raw mic level: echo cancellation is not running (--aec)", title="raw mic", timeout=4)
        self.flush()

    def action_toggle_barge_in(self) -> None:
        """Switch automatic barge-in (interrupt the reply when the user starts a turn)."""
        if self.controller is not None:
            self.controller.options.auto_barge_in = not self.controller.options.auto_barge_in
        else:
            self.model.auto_barge_in = not self.model.auto_barge_in
        self.auto_barge_in = not self.auto_barge_in

    def action_next_theme(self) -> None:
        """Switch to the next theme."""
        names = self.theme_set.names or [self.theme]
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    HELP_TITLE: ClassVar[str] = ""
    HELP_KEYS: ClassVar[tuple[tuple[str, str], ...]] = ()
    """Keys of a console of its own (a replay, the watch console), listed on top of the help."""

    def action_help(self) -> None:
        """Show the keys and the timeline legend."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.HELP_TITLE, self.HELP_KEYS))

    def action_tune(self) -> None:
        """Open the tuning panel for the turn settings of the engine in use."""
        if isinstance(self.screen, TuningScreen):
            return
        started = self.model.session
        current = self.model.turn_config or (started.settings.get("turn") if started is not None else None)
        stt = started.stt if started is not None else ""
        self.push_screen(self.tuning_screen(stt, settings_from_dict(current)))

    def tuning_screen(self, stt: str, current: TurnSettings) -> TuningScreen:
        """The tuning panel, sending what is applied to the live session."""
        return TuningScreen(stt, current, self.controller, config_path_for(self.settings))

    def action_waterfall(self) -> None:
        """Show the per-turn latency waterfall (it follows the session while open)."""
        if not isinstance(self.screen, WaterfallScreen):
            self.push_screen(WaterfallScreen(lambda: self.model))

    def action_dismiss_error(self) -> None:
        """Hide the error banner (or close the text line)."""
        if self.say_line.has_class("-visible"):
            self._close_say()
            return
        self.banner.dismiss()

    async def action_quit(self) -> None:
        """Stop the session (engines close cleanly), then leave; a second press leaves at once."""
        task = self._session_task
        if task is None or task.done() or self.stopping:
            if self.controller is not None and task is None:
                self.controller.request_stop("quit")
            self.exit(self.exit_code)
            return
        self.stopping = True
        assert self.controller is not None
        self.controller.request_stop("quit")
        task.add_done_callback(lambda _t: self.call_later(self.exit, self.exit_code))

    async def on_unmount(self) -> None:
        if self._frames is not None:
            self._frames.stop()
            self._frames = None
        controller = self.controller
        if controller is None:
            return
        task = self._session_task
        if task is not None and not task.done():
            controller.request_stop("quit")
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), timeout=20)
        self._set_lazy(False)
        controller.bus.remove_listener(self.feed)


__all__ = ["FRAME_HZ", "ConsoleSettings", "VoiceConsoleApp"]
