"""The Textual console: transcript, turn timeline, metrics, TTS queue, VU meters and status.

The app is a consumer of events plus a source of commands; it holds no audio or network logic.

Public API (used by ``voiceconsole``, ``voiceconsole demo``, the replay command and the tests)
-----------------------------------------------------------------------------------------
``VoiceConsoleApp(controller=None, *, settings=None, clock=None, events=(), themes=None)``

* ``controller`` receives the user's commands. A live :class:`~voiceconsole.session.session.Session`
  or any object with the same methods: ``interrupt(reason)``, ``set_muted(bool)``,
  ``say(text)``, ``request_stop(reason)``; optionally ``muted`` (bool), ``options.auto_barge_in``
  (bool, toggled by ``b``), ``meters`` (``.mic``/``.speaker`` with ``rms_dbfs``, ``peak_dbfs``,
  ``clips``, polled 15 times a second; without it the meters follow ``audio.level`` events).
  If the controller has a ``bus`` (``add_listener``), the app subscribes to it; if it also has
  an async ``run()``, the app runs it as a task on mount and quits once it has returned, so
  engines close cleanly. ``None``: keys only change the display.
* ``settings``: :class:`~voiceconsole.config.Settings` (theme, record dir).
* ``clock``: anything with ``now() -> float`` in session seconds (a
  :class:`~voiceconsole.clock.VirtualClock` for replays and snapshots); default: the
  controller's ``clock``, else real time.
* ``events``: events applied before the first frame (a scripted or recorded session).
* ``themes``: a :class:`~voiceconsole.ui.themes.ThemeSet` (default: loaded from the theme folders).

``app.feed(event)`` applies one more event (call it on the app's event loop; from another
thread use ``app.call_from_thread(app.feed, event)``). Feeding is cheap (the model is updated at
once; the panels are redrawn once per burst, after the pending messages), so a replay may feed
as fast as it likes; advance the virtual clock with the events so the session clock and the
"words heard" highlight follow. ``app.reset(events)`` starts over from a list of events (a
replay seeking backwards: the model is rebuilt with ``ConsoleModel.from_events``); to pause,
simply stop feeding. ``app.model`` is the :class:`~voiceconsole.ui.model.ConsoleModel`;
``app.flush()`` redraws now (tests call it before a snapshot).

Keys: ``i`` interrupt, ``m`` mute, ``s`` say a typed line, ``b`` automatic barge-in on/off,
``p`` pause/follow the timeline, ``+``/``-`` zoom, ``←``/``→``/``home``/``end`` scroll the
timeline, ``t`` next theme, ``?`` help, ``esc`` hide the error banner, ``q`` quit.

``run_app(settings) -> int`` builds the session (``hold_open=True``: a WAV mic keeps streaming
silence after it ends) and runs the app until ``q``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
from collections.abc import Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Static

from voiceconsole.clock import RealClock
from voiceconsole.events import AudioLevel, Event, SessionStarted
from voiceconsole.ui.frameclock import FrameClock
from voiceconsole.ui.heap import freeze_heap, thaw_heap
from voiceconsole.ui.lines import LineText
from voiceconsole.ui.model import ConsoleModel, ErrorInfo
from voiceconsole.ui.paintcache import install_frame_caches, paint_now
from voiceconsole.ui.panels import MetricsTable, QueueView, VuMeters, engine_text
from voiceconsole.ui.screens import HelpScreen
from voiceconsole.ui.themes import ThemeSet, load_themes
from voiceconsole.ui.timeline import (
    ALL_ROWS,
    TimelineGutter,
    TimelineView,
    lanes_changed_by,
)
from voiceconsole.ui.transcript import TranscriptView

log = logging.getLogger(__name__)

METER_HZ = 15
"""Frames a second while audio flows: the meters and the heard words move together; the meters'
peaks are held between frames (a frame shows the loudest block since the one before). Each
frame costs the UI thread about 2 ms here, most of it Textual composing the changed cells with
cold caches, so the rate is much of what the console costs while streaming: 15 frames a second
measured 0.3 to 1.5 points of a core less than 20 in interleaved runs of the CPU benchmark."""
REST_HZ = 5
"""Frame tick while nothing moves (meters at rest, no events): woken to METER_HZ by the next event
or the first level change it sees."""
REST_AFTER_TICKS = 8
"""Quiet ticks at METER_HZ (about half a second) before the tick slows to REST_HZ."""
NOW_EVERY = 2
"""At METER_HZ, the timeline follows "now" (the cursor, the level columns, open spans) on every
NOW_EVERY-th frame: 7.5 times a second, two or three 50 ms columns at a time. Events are drawn on
the frame they arrive in, and the meters at every frame."""
DEFAULT_HINTS = {
    "stt": "check --stt and its settings; the offline engine (--stt local) needs no network or key",
    "tts": "check --tts and its settings; replies still show here; try --tts local",
    "responder": "check --responder (echo, or script:FILE with one reply per line)",
    "audio": "check the device (voiceconsole --list-devices) or use --mic FILE.wav / --speaker null",
}


class StatusStyles(Static):
    """Holds the status line's component styles (the status texts are drawn by :class:`LineText`)."""

    COMPONENT_CLASSES = {
        "status--label",
        "status--value",
        "status--connecting",
        "status--connected",
        "status--reconnecting",
        "status--closed",
        "status--failed",
        "status--on",
        "status--off",
        "status--alert",
        "status--clock",
    }


class VoiceConsoleApp(App[int]):
    """The console. See the module docstring for the API."""

    CSS_PATH = "app.tcss"
    TITLE = "voiceconsole"
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
        Binding("t", "next_theme", "theme"),
        Binding("left", "pan(-0.25)", "back", show=False),
        Binding("right", "pan(0.25)", "forward", show=False),
        Binding("home", "pan_home", "start", show=False),
        Binding("end", "live", "live", show=False),
        Binding("escape", "dismiss_error", "hide error", show=False),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        controller: Any = None,
        *,
        settings: Any = None,
        clock: Any = None,
        events: Iterable[Event] = (),
        themes: ThemeSet | None = None,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.settings = settings
        self.clock = clock or getattr(controller, "clock", None) or RealClock()
        self.model = ConsoleModel()
        self.theme_set = themes if themes is not None else load_themes()
        for theme in self.theme_set.textual_themes():
            self.register_theme(theme)
        wanted = getattr(settings, "theme", None)
        self.theme = self.theme_set.resolve(wanted)
        self._theme_notice = self._theme_problems(wanted)
        self._flush_pending = False
        self._ui_ready = False
        self._session_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._dismissed_errors = 0
        self._clock_shown = ""
        self._session_failure: str | None = None
        self._frames = FrameClock(self._tick, METER_HZ, on_error=self._handle_exception)
        self._drain_bus: Any = None
        """The bus's ``drain`` when it holds level readings back until asked (see on_mount)."""
        self._quiet_ticks = 0
        self._frame_count = 0
        self._levels_from = math.inf
        self._events_since_tick = False
        self._heap_frozen = False
        self._timeline_rows: frozenset[int] = frozenset()
        """The timeline lanes the events since the last flush can have changed."""
        self.exit_code = 0
        for event in events:
            self.model.apply(event)

    def _theme_problems(self, wanted: str | None) -> str | None:
        lines = list(self.theme_set.problems)
        if wanted and wanted not in self.theme_set.themes:
            lines.append(f"no usable theme named {wanted!r}; using {self.theme!r}")
        return "\n".join(lines) if lines else None

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        now = self.clock.now
        self._engines_line = LineText(id="status-engines")
        self._state_line = LineText(id="status-state")
        self._status_styles = StatusStyles(id="status-styles")
        self._banner = Static(id="banner")
        self._transcript = TranscriptView(self.model, now, id="transcript")
        self._queue = QueueView(self.model, id="queue")
        self._meters = VuMeters(now, id="meters")
        self._timeline = TimelineView(self.model, id="timeline")
        self._metrics = MetricsTable(self.model.metrics, id="metrics")
        self._say = Input(placeholder="a line for the bot to say — enter speaks it, escape cancels", id="say")
        with Horizontal(id="status"):
            yield self._engines_line
            yield self._state_line
        yield self._status_styles
        yield self._banner
        with Horizontal(id="main"):
            yield self._transcript
            with Vertical(id="side"):
                yield self._queue
                yield self._meters
        with Horizontal(id="bottom"):
            with Horizontal(id="timeline-box"):
                yield TimelineGutter(id="gutter")
                yield self._timeline
            yield self._metrics
        yield self._say
        yield Footer(compact=True)

    def on_mount(self) -> None:
        install_frame_caches(self.screen)
        # The panels the frame tick and the event flush redraw, painted by them directly (while
        # their screen is on top; under the help screen Textual's own path paints them).
        self._main_screen = self.screen
        self._painted = (self._meters, self._timeline, self._transcript, self._queue, self._metrics,
                         self._engines_line, self._state_line)
        self.query_one("#transcript").border_title = "transcript"
        self.query_one("#queue").border_title = "TTS queue"
        self.query_one("#meters").border_title = "levels"
        self.query_one("#timeline-box").border_title = "turn timeline"
        self.query_one("#metrics").border_title = "turn metrics"
        self._say.cursor_blink = False
        self.set_focus(self._timeline)
        if self._theme_notice:
            self.notify(self._theme_notice, title="themes", severity="warning", timeout=10)
        bus = getattr(self.controller, "bus", None)
        if bus is not None and hasattr(bus, "add_listener"):
            bus.add_listener(self.feed)
            # Level readings only move "now" and the level lanes, which the next frame draws: a
            # bus that can hold them back (a session on its own thread) need not wake this loop
            # for each one; every frame takes them in first (_tick).
            if hasattr(bus, "deliver_lazily") and hasattr(bus, "drain"):
                bus.deliver_lazily({AudioLevel})
                self._drain_bus = bus.drain
            run = getattr(self.controller, "run", None)
            if run is not None and inspect.iscoroutinefunction(run) and not getattr(self.controller, "running", False):
                self._session_task = asyncio.create_task(self._run_session(), name="vc-session")
        # Started here, in the app's context: its ticks run in it wherever they are re-phased from.
        self._frames.start()
        self._ui_ready = True
        self.flush()
        self.call_after_refresh(self._freeze_heap)

    def _freeze_heap(self) -> None:
        """Keep what is alive now out of full collections (see :mod:`voiceconsole.ui.heap`)."""
        if self._closing:
            return
        freeze_heap(first=not self._heap_frozen)
        self._heap_frozen = True

    async def _run_session(self) -> None:
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
            self._session_failure = message
            if not self.model.errors:
                self.model.errors.append(ErrorInfo("session", "", message, "", True, self.clock.now()))
            self.model.dirt.errors = True
        finally:
            self.model.dirt.status = True
            self._schedule_frame()

    # --- events in ----------------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        """Apply one event; the panels are redrawn once the current burst is over.

        An event that only moves "now" (a level reading) is drawn with the next frame tick,
        together with the meters, so levels arriving every 20 ms cost no frames of their own.
        """
        self.model.apply(event)
        self._events_since_tick = True
        if type(event) is not AudioLevel and self._timeline_rows != ALL_ROWS:
            self._timeline_rows = self._timeline_rows | lanes_changed_by(event)
        if type(event) is SessionStarted and self._ui_ready:
            self.call_later(self._freeze_heap)  # the engines are loaded: their modules live on
        if self._ui_ready:
            self._set_frame_rate(METER_HZ)
        if self.model.dirt:
            self._schedule_frame()

    def reset(self, events: Iterable[Event] = ()) -> None:
        """Start over from ``events`` (a replay seeking backwards)."""
        self.model = ConsoleModel.from_events(events)
        for view in (self._transcript, self._queue, self._timeline):
            view.reset(self.model)
        self._metrics.metrics = self.model.metrics
        self.model.dirt.transcript_added = True
        self.model.dirt.replies = set(self.model.replies)
        self.model.dirt.timeline_from = 0.0
        self._timeline_rows = ALL_ROWS
        self.model.dirt.metrics = self.model.dirt.status = self.model.dirt.errors = True
        self.flush()

    @property
    def _frame_hz(self) -> float:
        """Frames a second the frame clock runs at now (METER_HZ or REST_HZ)."""
        return self._frames.hz

    def _schedule_frame(self) -> None:
        """Draw a frame once the current burst of events is over (after the pending messages)."""
        if not self._flush_pending and self._ui_ready:
            self._flush_pending = True
            self.call_later(self._event_frame)

    def _event_frame(self) -> None:
        """The frame for a burst of events: drawn at once, and the frame clock's next tick comes
        one period after it (see :mod:`voiceconsole.ui.frameclock`)."""
        if not self._flush_pending or not self._ui_ready:
            return  # a tick drew it first
        self._tick()
        self._frames.drawn()

    def flush(self, *, follow_now: bool = True) -> None:
        """Bring every panel up to date with the model (``follow_now=False``: the timeline only
        if events changed it, not for "now" having moved)."""
        self._flush_pending = False
        if not self._ui_ready:
            return
        dirt = self.model.take_dirt()
        transcript = self._transcript
        if dirt.transcript or dirt.transcript_added:
            transcript.update_entries(set(dirt.transcript), dirt.transcript_added)
        if dirt.replies:
            self._queue.update_replies(dirt.replies)
        # Lanes named by the events fed; changes made to the model some other way redraw all.
        levels_from = min(self._levels_from, dirt.levels_from)
        if follow_now or self._timeline_rows or dirt.timeline_from != math.inf:
            rows, self._timeline_rows = self._timeline_rows or ALL_ROWS, frozenset()
            self._timeline.update_from(dirt.timeline_from, rows, levels_from)
            levels_from = math.inf
        self._levels_from = levels_from  # readings the timeline has not drawn yet
        if dirt.metrics:
            self._metrics.update_metrics()
        if dirt.errors:
            self._update_banner()
        if dirt.status:
            self._update_status()
        paint_now(self._main_screen, self._painted)

    def _set_frame_rate(self, hz: int) -> None:
        """Run the frame tick (meters, "now", heard words, clock) ``hz`` times a second."""
        if hz != self._frames.hz:
            self._frames.set_rate(hz)
            self._quiet_ticks = 0

    def _tick(self) -> None:
        if any(w._closing or w._closed for w in (self._meters, self._transcript, self._timeline)):
            self._frames.stop()
            return  # the app is shutting down: its panels are being removed
        if self._drain_bus is not None:
            self._drain_bus()
        moved = self._draw_tick()
        # At rest (no events, meters still, no reply being heard) the tick slows down; the
        # next event (feed) or the first level change a slow tick sees brings it back.
        if moved or self._events_since_tick:
            self._quiet_ticks = 0
            self._set_frame_rate(METER_HZ)
        elif self._frames.hz == METER_HZ:
            self._quiet_ticks += 1
            if self._quiet_ticks >= REST_AFTER_TICKS:
                self._set_frame_rate(REST_HZ)
        self._events_since_tick = False

    def _draw_tick(self) -> bool:
        """One frame tick; True if the meters or the transcript moved."""
        meters = self._meters
        slots = getattr(self.controller, "meters", None)
        for source in ("mic", "speaker"):
            slot = getattr(slots, source, None) if slots is not None else None
            if slot is not None:
                take = getattr(slot, "take_levels", None)
                rms, peak = take() if take is not None else (slot.rms_dbfs, slot.peak_dbfs)
                meters.set_levels(source, rms, peak, slot.clips)
            else:
                level = self.model.last_level.get(source)
                if level is not None:
                    meters.set_levels(source, level.rms_dbfs, level.peak_dbfs, 0)
        moved = meters.tick()
        moved = self._transcript.tick() or moved
        if self._clock_text() != self._clock_shown:  # the rest of the status changes by event or key
            self._update_status()
        # One frame for all of it: the flush paints ("now" moved with the levels: the timeline's
        # new columns) with the events since the last frame; a burst's frame still due finds
        # nothing left to draw.
        self._frame_count += 1
        self.flush(follow_now=self._frames.hz != METER_HZ or self._frame_count % NOW_EVERY == 0)
        return moved

    # --- status and errors ----------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self._status_styles.get_component_rich_style(name)

    def _muted(self) -> bool:
        return bool(getattr(self.controller, "muted", self.model.muted))

    def _auto_barge_in(self) -> bool | None:
        options = getattr(self.controller, "options", None)
        if options is not None and hasattr(options, "auto_barge_in"):
            return bool(options.auto_barge_in)
        return self.model.auto_barge_in

    def _update_status(self) -> None:
        if not self._ui_ready:
            return
        engines = self._engines_line
        state = self._state_line
        style = self._style
        left = engine_text(self.model, style)
        left.append_text(self._devices_text())
        engines.set_text(left)
        right = Text()
        self._clock_shown = self._clock_text()
        right.append(self._clock_shown, style("status--clock"))
        right.append(" │ mic ", style("status--label"))
        if self._muted():
            right.append("muted", style("status--alert"))
        else:
            right.append("live", style("status--on"))
        record = getattr(self.settings, "record", None)
        right.append(" │ ", style("status--label"))
        right.append("● rec" if record else "rec off", style("status--alert" if record else "status--off"))
        barge = self._auto_barge_in()
        right.append(" │ barge-in ", style("status--label"))
        right.append("auto" if barge else "off", style("status--on" if barge else "status--off"))
        timeline = self._timeline
        right.append(" │ ", style("status--label"))
        if timeline.follow:
            right.append("live", style("status--on"))
        else:
            right.append("paused", style("status--alert"))
        right.append(f" {timeline.zoom_ms}ms", style("status--label"))
        if self._stopping:
            right.append(" │ stopping…", style("status--alert"))
        elif self.model.stopped is not None:
            right.append(f" │ stopped: {self.model.stopped.reason}", style("status--alert"))
        state.set_text(right)

    def _clock_text(self) -> str:
        # Whole seconds: the clock repaints once a second (the timeline keeps ms precision).
        minutes, seconds = divmod(int(max(0.0, self.clock.now())), 60)
        return f"{minutes:02d}:{seconds:02d}"

    def _devices_text(self) -> Text:
        style = self._style
        text = Text()
        session = self.model.session
        if session is None:
            return text
        settings = session.settings
        mic = self.model.devices.get("input")
        spk = self.model.devices.get("output")
        mic_name = mic.device if mic is not None else settings.get("source_description", session.source)
        mic_rate = mic.sample_rate if mic is not None else settings.get("source_rate", session.sample_rate)
        spk_name = spk.device if spk is not None else settings.get("sink_description", session.sink)
        spk_rate = spk.sample_rate if spk is not None else settings.get("sink_rate", 0)
        text.append(" mic ", style("status--label"))
        text.append(f"{_short(str(mic_name))} {_khz(mic_rate)}".rstrip(), style("status--value"))
        if mic is not None and mic.state != "open":
            text.append(f" {mic.state}", style("status--failed"))
        text.append(" → stt ", style("status--label"))
        text.append(_khz(session.sample_rate), style("status--value"))
        text.append("  speaker ", style("status--label"))
        text.append(f"{_short(str(spk_name))} {_khz(spk_rate)}".rstrip(), style("status--value"))
        if spk is not None and spk.state != "open":
            text.append(f" {spk.state}", style("status--failed"))
        return text

    def _update_banner(self) -> None:
        banner = self._banner
        errors = self.model.errors[self._dismissed_errors :]
        if not errors:
            banner.remove_class("-visible")
            return
        error = errors[-1]
        who = f"{error.role.upper()} engine {error.engine}" if error.engine else error.role
        hint = error.hint or DEFAULT_HINTS.get(error.role, "see the message above; restart the session when fixed")
        more = f"  (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        state = "failed" if error.fatal else "error"
        banner.update(
            Text.assemble(
                (f"✖ {who} {state}: ", "bold"),
                error.message,
                more,
                "\n",
                ("What to do: ", "bold"),
                hint,
                "   (esc hides this)",
            )
        )
        banner.add_class("-visible")

    # --- actions --------------------------------------------------------------------------------

    def _command(self, name: str, *args: Any) -> Any:
        method = getattr(self.controller, name, None)
        if method is None:
            return None
        return method(*args)

    def action_interrupt(self) -> None:
        """Barge in: silence the reply now and cancel the queue."""
        self._command("interrupt", "key")

    def action_mute(self) -> None:
        """Mute or unmute the mic."""
        self._command("set_muted", not self._muted())
        self._update_status()

    def action_say(self) -> None:
        """Open the line to type text for the bot to speak."""
        say = self._say
        say.add_class("-visible")
        say.focus()

    @on(Input.Submitted, "#say")
    def _said(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        self._close_say()
        if text:
            self._command("say", text)

    def _close_say(self) -> None:
        say = self._say
        say.remove_class("-visible")
        self.set_focus(self._timeline)

    def action_toggle_follow(self) -> None:
        """Pause the timeline where it is, or follow live again."""
        timeline = self._timeline
        timeline.set_follow(not timeline.follow)
        self._update_status()

    def action_live(self) -> None:
        """Jump to now and follow live."""
        self._timeline.set_follow(True)
        self._update_status()

    def action_zoom(self, steps: int) -> None:
        """Zoom the timeline in (-1) or out (+1)."""
        self._timeline.zoom(steps)
        self._update_status()

    def action_pan(self, fraction: float) -> None:
        """Scroll the timeline back or forward (pauses following)."""
        self._timeline.pan(fraction)
        self._update_status()

    def action_pan_home(self) -> None:
        """Scroll to the start of the session."""
        self._timeline.pan_home()
        self._update_status()

    def action_toggle_barge_in(self) -> None:
        """Switch automatic barge-in (interrupt the reply when the user starts a turn)."""
        options = getattr(self.controller, "options", None)
        if options is not None and hasattr(options, "auto_barge_in"):
            options.auto_barge_in = not options.auto_barge_in
        else:
            self.model.auto_barge_in = not self.model.auto_barge_in
        self._update_status()

    def action_next_theme(self) -> None:
        """Switch to the next theme."""
        names = self.theme_set.names or [self.theme]
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    def action_help(self) -> None:
        """Show the keys and the timeline legend."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_dismiss_error(self) -> None:
        """Hide the error banner (or close the text line)."""
        say = self._say
        if say.has_class("-visible"):
            self._close_say()
            return
        self._dismissed_errors = len(self.model.errors)
        self._update_banner()

    async def action_quit(self) -> None:
        """Stop the session (engines close cleanly), then leave; a second press leaves at once."""
        task = self._session_task
        if task is None:
            self._command("request_stop", "quit")  # a replay or scripted controller
            self.exit(self.exit_code)
            return
        if task.done() or self._stopping:
            self.exit(self.exit_code)
            return
        self._stopping = True
        self._update_status()
        self.controller.request_stop("quit")
        task.add_done_callback(lambda _t: self.call_later(self.exit, self.exit_code))

    async def on_unmount(self) -> None:
        self._frames.stop()
        if self._heap_frozen:
            self._heap_frozen = False
            thaw_heap()
        task = self._session_task
        if task is not None and not task.done():
            self.controller.request_stop("quit")
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), timeout=20)
        bus = getattr(self.controller, "bus", None)
        if bus is not None and hasattr(bus, "remove_listener"):
            bus.remove_listener(self.feed)

    @on(TimelineView.FollowChanged)
    def _follow_changed(self) -> None:
        self._update_status()

    @on(Input.Blurred, "#say")
    def _say_blurred(self) -> None:
        self._say.remove_class("-visible")


def _khz(rate: Any) -> str:
    try:
        value = int(rate)
    except (TypeError, ValueError):
        return ""
    if value <= 0:
        return ""
    return f"{value / 1000:g} kHz"


def _short(name: str, limit: int = 28) -> str:
    """A device or file name without its folder and its parenthesised details."""
    name = name.split(" (", 1)[0].rsplit("/", 1)[-1]
    return name if len(name) <= limit else name[: limit - 1] + "…"


def run_app(settings: Any) -> int:
    """Build the session from ``settings`` and run the console on it; returns the exit code."""
    from voiceconsole.errors import ConfigError
    from voiceconsole.session.build import build_session
    from voiceconsole.session.eventlog import JsonlEventWriter
    from voiceconsole.session.recorder import attach_recorder
    from voiceconsole.session.threaded import SessionThread

    themes = load_themes()
    wanted = getattr(settings, "theme", None)
    broken = any(wanted and f"{wanted}.toml" in p for p in themes.problems)
    if wanted and wanted not in themes.themes and not broken and themes.themes:
        raise ConfigError(f"unknown theme {wanted!r}; choose one of {', '.join(themes.names)}")
    if settings.events == "-":
        raise ConfigError("--events - writes to the terminal the console draws on; give a file path or add --no-ui")
    session = build_session(settings, hold_open=True)
    recorder = attach_recorder(session, settings)
    writer = JsonlEventWriter(settings.events) if settings.events else None
    if writer is not None:
        session.bus.add_listener(writer)
    # The session runs on its own thread and loop, so a paint never delays capture -> STT.
    controller = SessionThread(session)
    app = VoiceConsoleApp(controller=controller, settings=settings, clock=session.clock, themes=themes)
    try:
        result = app.run()
        controller.request_stop("quit")  # e.g. the app failed before its own quit ran
        controller.join(timeout=20)
    finally:
        if writer is not None:
            writer.close()
        if recorder is not None:
            recorder.close()
    return int(result if result is not None else app.exit_code)


__all__ = ["VoiceConsoleApp", "run_app"]
