"""The turn timeline's lanes: each one reads the model and draws its row of cells.

A lane is one class: it names the model aspects it draws from (:class:`~voiceconsole.ui.model.Versions`
fields), says whether it is drawn up to "now" (so it moves as time passes), and draws a window of
columns. The timeline redraws a lane when one of those versions moved, "now" crossed a column,
or the window scrolled; adding a lane is adding a class to :data:`LANES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from rich.style import Style

from voiceconsole.ui.cells import CellRow
from voiceconsole.ui.entries import Mark, ReplyEntry, TurnEntry
from voiceconsole.ui.levels import LevelTrack
from voiceconsole.ui.llm_lane import LLM_HELP, draw_llm
from voiceconsole.ui.model import ConsoleModel
from voiceconsole.ui.signal import SignalColumn

StyleOf = Callable[[str], Style]
"""A component style by short name (``"mic"`` -> ``timeline--mic``)."""

SPARK = "▁▂▃▄▅▆▇█"
LEVEL_FLOOR_DB = -60.0
TICK_STEPS_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
TURN_MARKS = {"update": "·", "resume": "↺", "eager_end": "◇", "start": "▶", "end": "■"}
TURN_MARK_STYLE = {"update": "update", "resume": "resume", "eager_end": "eager", "start": "turn", "end": "end"}
REPLY_MARKS = {"queued": "•", "request": "›", "first_audio": "♪", "say": "✎", "mute": "M", "unmute": "U", "config": "c",
               "interrupt": "↯", "cut": "✕"}
REPLY_MARK_STYLE = {"queued": "reply", "request": "reply", "first_audio": "reply", "say": "command", "mute": "command",
                    "unmute": "command", "config": "command", "interrupt": "interrupt", "cut": "interrupt"}
GAP_STYLE = {"stop_eager": "eager", "stop_end": "end", "end_audio": "reply", "barge_in": "interrupt"}
PAST_ENOUGH = 4
"""Turns (or replies), newest first, wholly before the window after which older ones are not
looked at: they follow one another in time, so a window costs the same late in a long session."""


@dataclass(frozen=True, slots=True)
class Window:
    """The columns a lane draws: ``width`` columns from ``first_col``, ``zoom_ms`` each."""

    first_col: int
    width: int
    zoom_ms: int
    now_col: int
    now: float
    """Audio time of "now" (open spans run to it)."""
    view_col: int = 0
    """Window columns left of what is on screen (drawn only for labels that spill in)."""

    @property
    def seconds_per_col(self) -> float:
        return self.zoom_ms / 1000.0

    def col(self, t: float) -> int:
        """Column of audio time ``t``, relative to the window."""
        return math.floor(t * 1000.0 / self.zoom_ms + 1e-9) - self.first_col

    def time_at(self, col: int) -> float:
        """Audio time at the left edge of window column ``col``."""
        return (self.first_col + col) * self.seconds_per_col

    @property
    def start(self) -> float:
        return self.time_at(0)

    @property
    def end(self) -> float:
        return self.time_at(self.width)


class Lane:
    """One row of the timeline."""

    name: ClassVar[str]
    label: ClassVar[str] = ""
    """Shown in the gutter beside the row."""
    help: ClassVar[str] = ""
    """The legend on the help screen ("": not listed)."""
    aspects: ClassVar[tuple[str, ...]] = ()
    """The model's versions this lane draws from."""
    follows_now: ClassVar[bool] = False
    """Drawn up to "now" (redrawn whenever "now" enters another column)."""
    labelled: ClassVar[bool] = False
    """Writes labels that may run past their item (a label cut at the left edge is blanked)."""

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        """Paint the window's columns into ``cells`` (as wide as the window)."""
        raise NotImplementedError


def tick_steps(seconds_per_col: float) -> tuple[float, float | None]:
    """Seconds between labelled ticks, and between the minor ticks if there is room for them."""
    major = next((s for s in TICK_STEPS_S if s / seconds_per_col >= 10), TICK_STEPS_S[-1])
    for divisor in (5, 2):
        if major / divisor / seconds_per_col >= 2:
            return major, major / divisor
    return major, None


def format_axis_time(t: float, step: float) -> str:
    """A tick label: ``1.25s``, ``12s`` or ``1:05``."""
    if t >= 60 and step >= 1:
        minutes, seconds = divmod(int(round(t)), 60)
        return f"{minutes}:{seconds:02d}"
    if step < 0.1:
        return f"{t:.2f}s"
    if step < 1:
        return f"{t:.1f}s"
    return f"{t:.0f}s"


class AxisLane(Lane):
    name = "axis"
    labelled = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        major, _ = tick_steps(win.seconds_per_col)
        k = max(0, math.ceil(win.start / major - 1e-9))
        while k * major < win.end:
            cells.text(win.col(k * major), format_axis_time(k * major, major), style("axis"))
            k += 1


class TicksLane(Lane):
    name = "ticks"
    follows_now = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        major, minor = tick_steps(win.seconds_per_col)
        now = win.now_col - win.first_col
        tick, future = style("tick"), style("future")
        cells.fill(0, now + 1, "─", tick)
        cells.fill(now + 1, cells.width, "─", future)
        step = minor or major
        k = max(0, math.ceil(win.start / step - 1e-9))
        while k * step < win.end:
            t = k * step
            col = win.col(t)
            is_major = abs(t / major - round(t / major)) < 1e-6
            cells.put(col, "┼" if is_major else "┬", tick if col <= now else future)
            k += 1
        cells.put(now, "┃", style("now"))


def spark_level(rms: float | None) -> int | None:
    """The sparkline step of a level in dBFS (``None`` at or under the floor)."""
    if rms is None or rms <= LEVEL_FLOOR_DB:
        return None
    return min(len(SPARK) - 1, int((rms - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB * len(SPARK)))


def draw_levels(cells: CellRow, win: Window, track: LevelTrack, style: Style, over: LevelTrack | None = None) -> None:
    """A sparkline of ``track``'s loudest level per column, up to "now"; with ``over``, only the
    columns where ``track`` is at least as high as ``over`` (drawn there before)."""
    count = min(cells.width, win.now_col - win.first_col + 1)
    if count <= 0:
        return
    below = over.columns(win.first_col, count, win.seconds_per_col) if over is not None else None
    for i, rms in enumerate(track.columns(win.first_col, count, win.seconds_per_col)):
        level = spark_level(rms)
        if level is None:
            continue
        under = spark_level(below[i]) if below is not None else None
        if under is not None and under > level:
            continue
        cells.put(i, SPARK[level], style)


class MicLane(Lane):
    name = "mic"
    label = "mic/vad"
    help = "mic level; shaded where the reference VAD hears speech; a: the raw mic under it (AEC)"
    aspects = ("levels", "speech")
    follows_now = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        if model.show_raw_mic:
            # The raw level first, faint; the processed one over it where it is as loud, so what
            # echo cancellation removed stays faint.
            draw_levels(cells, win, model.mic_raw, style("mic-raw"))
            draw_levels(cells, win, model.mic, style("mic"), over=model.mic_raw)
        else:
            draw_levels(cells, win, model.mic, style("mic"))
        for span in model.spans_in(model.vad, win.start, win.end):
            stop = span.end if span.end is not None else win.now
            cells.background(win.col(span.start), win.col(stop) + 1, style("vad"))
        for span in model.spans_in(model.mutes, win.start, win.end):
            stop = span.end if span.end is not None else win.now
            cells.fill(win.col(span.start), win.col(stop) + 1, "m", style("muted"))


class SpeakerLane(Lane):
    name = "speaker"
    label = "speaker"
    help = "speaker level"
    aspects = ("levels",)
    follows_now = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        draw_levels(cells, win, model.speaker, style("speaker"))


def draw_marks(cells: CellRow, win: Window, marks: list[Mark], glyphs: dict[str, str],
               style_of_kind: Callable[[str], Style], labelled: str = "") -> None:
    """One glyph per mark (kinds later in ``glyphs`` win a shared cell); marks of the kind
    ``labelled`` write their label after the glyph."""
    for kind, glyph in glyphs.items():
        for mark in marks:
            if mark.kind == kind:
                col, mark_style = win.col(mark.at), style_of_kind(kind)
                cells.put(col, glyph, mark_style)
                if mark.label and kind == labelled:
                    cells.text(col + 1, mark.label, mark_style)


Entry = TypeVar("Entry", TurnEntry, ReplyEntry)


def in_window(entries: Iterable[Entry], last_at: Callable[[Entry], float], first_at: Callable[[Entry], float],
              win: Window) -> list[Entry]:
    """The entries (newest first in ``entries``) that reach into the window, oldest first."""
    found: list[Entry] = []
    past = 0
    for entry in entries:
        if last_at(entry) < win.start:
            past += 1
            if past >= PAST_ENOUGH:
                break
        elif first_at(entry) < win.end:
            found.append(entry)
    found.reverse()
    return found


class TurnLane(Lane):
    name = "turn"
    label = "turn"
    help = "▶ turn.start  · turn.update  ◇ turn.eager_end  ↺ turn.resume  ■ turn.end"
    aspects = ("turns",)
    follows_now = True
    labelled = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        def last_at(entry: TurnEntry) -> float:
            return entry.end_audio_t if entry.end_audio_t is not None else win.now

        line, eager = style("turn"), style("eager")
        for entry in in_window(reversed(model.turns.values()), last_at, lambda e: e.start_audio_t, win):
            cells.fill(win.col(entry.start_audio_t), win.col(last_at(entry)) + 1, "─", line)
            for span in entry.eager_spans:
                span_end = span.end if span.end is not None else win.now
                cells.fill(win.col(span.start), win.col(span_end) + 1, "┄", eager)
        draw_marks(cells, win, model.marks_in(model.turn_marks, win.start, win.end), TURN_MARKS,
                   lambda kind: style(TURN_MARK_STYLE[kind]), labelled="start")


class ReplyLane(Lane):
    name = "reply"
    label = "reply"
    help = "› request ♪ first audio ▶▬ playing ✕ cut ↯ interrupt ✎ typed M/U mute c retuned"
    aspects = ("replies",)
    follows_now = True
    labelled = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        now = win.now

        def last_at(entry: ReplyEntry) -> float:
            if entry.play_end_audio_t is not None:
                return entry.play_end_audio_t
            return now if entry.state in ("queued", "synthesizing", "playing") else entry.queued_audio_t

        wait, playing, reply_style = style("wait"), style("playing"), style("reply")
        for entry in in_window(reversed(model.replies.values()), last_at, lambda e: e.queued_audio_t, win):
            if entry.request_audio_t is not None:
                wait_end = entry.first_audio_audio_t
                if wait_end is None:
                    wait_end = now if entry.state == "synthesizing" else entry.request_audio_t
                cells.fill(win.col(entry.request_audio_t), win.col(wait_end) + 1, "┈", wait)
            if entry.play_start_audio_t is not None:
                play_end = entry.play_end_audio_t if entry.play_end_audio_t is not None else now
                start = win.col(entry.play_start_audio_t)
                cells.fill(start, win.col(play_end) + 1, "▬", playing)
                cells.put(start, "▶", reply_style)
                cells.text(start + 1, str(entry.reply), reply_style)
        draw_marks(cells, win, model.marks_in(model.reply_marks, win.start, win.end), REPLY_MARKS,
                   lambda kind: style(REPLY_MARK_STYLE[kind]))


class GapLane(Lane):
    """The measured gaps of one row, each as ``├──820ms──┤`` (the label beside it if narrow)."""

    aspects = ("gaps",)
    labelled = True
    row: ClassVar[int]

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        text_style = style("gap")
        for gap in model.gaps.in_row(self.row, win.start, win.end):
            s, e = win.col(gap.start), win.col(gap.end)
            bracket = style(GAP_STYLE.get(gap.kind, "gap"))
            label = f"↯{gap.ms}ms" if gap.kind == "barge_in" else f"{gap.ms}ms"
            width = e - s + 1
            if width >= 2:
                cells.put(s, "├", bracket)
                cells.fill(s + 1, e, "─", bracket)
                cells.put(e, "┤", bracket)
            if width >= len(label) + 2:
                cells.text(s + 1 + (width - 2 - len(label)) // 2, label, text_style)
            else:
                cells.text(e + 1 if width >= 2 else s, label, text_style)


class EagerGapLane(GapLane):
    name, label, row = "gap0", "→eager", 0
    help = "reference-VAD speech stop → turn.eager_end, in ms"


class EndGapLane(GapLane):
    name, label, row = "gap1", "→end", 1
    help = "reference-VAD speech stop → turn.end, in ms"


class ReplyGapLane(GapLane):
    name, label, row = "gap2", "→audio", 2
    help = "turn.end → first reply audio heard; ↯ interrupt → silence, in ms"


THRESHOLD_LINES = "_─‾"
"""The VAD threshold's line, low to high (a third of the cell each; glyphs every font has)."""
INK2_ENGINE = "cartesia-turns"
INK2_NOTE = "Ink-2 exposes no probabilities: server events only"
INK2_NOTE_SHORT = "Ink-2: no probabilities"


def spark(fraction: float) -> str:
    """The sparkline glyph for ``fraction`` (0-1) of the cell's height."""
    return SPARK[max(0, min(len(SPARK) - 1, int(fraction * len(SPARK))))]


def signal_columns(win: Window, model: ConsoleModel) -> list[SignalColumn]:
    """The signal of the window's columns up to "now"."""
    count = min(win.width, win.now_col - win.first_col + 1)
    return model.signal.columns(win.first_col, count, win.seconds_per_col) if count > 0 else []


def write_note(cells: CellRow, win: Window, text: str, short: str, style: Style) -> None:
    """A note at the left of what is on screen (the short one if the long one does not fit)."""
    room = cells.width - win.view_col - 1
    cells.text(win.view_col + 1, text if len(text) < room else short, style)


class SignalLane(Lane):
    """The offline engine's speech probability per column, over the VAD threshold's line."""

    name = "signal"
    label = "p(vad)"
    help = "VAD speech probability, bright above the threshold ─; st.NN Smart Turn's P(end)"
    aspects = ("signal", "status")
    follows_now = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        track = model.signal
        if not track:
            stt = model.session.stt if model.session is not None else ""
            if stt == INK2_ENGINE:
                write_note(cells, win, INK2_NOTE, INK2_NOTE_SHORT, style("signal-note"))
            elif stt:
                write_note(cells, win, f"{stt}: no signal events", "no signal events", style("signal-note"))
            return
        columns = signal_columns(win, model)
        line, below, above = style("threshold"), style("signal"), style("signal-speech")
        # The threshold line runs across the whole lane (the future too), its value written at
        # the left of the view and where it changed; the bars go over it.
        rule = track.rules[0] if track.rules else None
        for i in range(cells.width):
            if i < len(columns) and columns[i].rule is not None:
                rule = columns[i].rule
            if rule is not None:
                level = min(len(THRESHOLD_LINES) - 1, int(rule.threshold * len(THRESHOLD_LINES)))
                cells.put(i, THRESHOLD_LINES[level], line)
        labels = [(win.view_col, track.rule_at(math.floor(win.time_at(win.view_col) / track.frame_s)))]
        for change in track.rules[1:]:
            col = win.col(change.first_frame * track.frame_s)
            if win.view_col <= col < cells.width:
                if col - labels[-1][0] < 6:
                    labels.pop()
                labels.append((col, change))
        for col, shown in labels:
            if shown is not None:
                smart = f" st≥{shown.smart_threshold:.2f}" if shown.smart_threshold is not None else ""
                cells.text(col, f"{shown.threshold:.2f}{smart}", line)
        for i, column in enumerate(columns):
            p, rule = column.probability, column.rule
            if p is None or rule is None:
                continue
            if p > rule.threshold:
                cells.put(i, spark(p), above)
            elif p >= 1 / len(SPARK):  # lower than that, the threshold line shows through
                cells.put(i, spark(p), below)
        for col, mark in track.smart_marks(win.first_col, len(columns), win.seconds_per_col):
            cells.text(col, mark.label, style("end" if mark.complete else "eager"))


class SilenceLane(Lane):
    """The offline turn rule's counters: speech towards a start, silence towards eager and end."""

    name = "silence"
    label = "rule"
    help = "speech run toward a start; in a turn, silence run toward eager ◇ and end ■"
    aspects = ("signal",)
    follows_now = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        if not model.signal:
            return
        speech, started = style("count-start"), style("turn")
        silence, eager, end = style("silence"), style("silence-eager"), style("silence-end")
        for i, column in enumerate(signal_columns(win, model)):
            rule = column.rule
            if rule is None or column.phase is None:
                continue
            if column.phase == "idle":
                if column.speech_ms > 0 and rule.start_ms > 0:
                    cells.put(i, spark(column.speech_ms / rule.start_ms),
                              started if column.speech_ms >= rule.start_ms else speech)
                continue
            ms = column.silence_ms
            if ms > 0:
                zone = end if ms >= rule.end_ms else eager if ms >= rule.eager_ms else silence
                cells.put(i, spark(ms / rule.end_ms), zone)


class LlmLane(Lane):
    """The LLM responder's requests: speculative ones apart, wasted ones marked (drawn by
    :func:`voiceconsole.ui.llm_lane.draw_llm`); empty without an LLM."""

    name = "llm"
    label = "llm"
    help = LLM_HELP
    aspects = ("llm",)
    follows_now = True
    labelled = True

    def draw(self, cells: CellRow, win: Window, model: ConsoleModel, style: StyleOf) -> None:
        draw_llm(cells, win, model.llm, style)


LANES: tuple[Lane, ...] = (
    AxisLane(), TicksLane(), MicLane(), SignalLane(), SilenceLane(), TurnLane(), EagerGapLane(), EndGapLane(),
    LlmLane(), ReplyLane(), ReplyGapLane(), SpeakerLane(),
)
"""The timeline's rows, top to bottom."""


__all__ = ["LANES", "Lane", "LlmLane", "SignalLane", "SilenceLane", "Window", "format_axis_time", "tick_steps"]
