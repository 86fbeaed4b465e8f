"""The measured gaps the timeline writes under the turns (speech stop -> eager end, speech stop
-> end, end -> first reply audio, interrupt -> silence), taken from the turn metrics."""

from __future__ import annotations

from bisect import bisect_left, insort

from voiceconsole.events import (
    Event,
    PlaybackInterrupted,
    PlaybackStarted,
    SpeechStopped,
    TurnEagerEnd,
    TurnEnd,
)
from voiceconsole.session.metrics import MetricsBuilder, TurnMetrics
from voiceconsole.ui.entries import Gap, ReplyEntry

GAP_ROWS = 3
"""Timeline rows for gaps: 0 speech stop -> eager_end, 1 speech stop -> end, 2 reply gaps."""

def _start(gap: Gap) -> float:
    return gap.start


class GapBook:
    """The gaps by key and by timeline row (each row ordered by start)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, int], Gap] = {}
        self.rows: list[list[Gap]] = [[] for _ in range(GAP_ROWS)]
        self.longest_s = 0.0

    def update(self, event: Event, metrics: MetricsBuilder, replies: dict[int, ReplyEntry],
               interrupt_audio_t: list[float]) -> bool:
        """Take in what ``event`` (already applied to ``metrics``) measured; True if a gap changed."""
        turn: TurnMetrics | None = None
        changed = False
        if isinstance(event, (TurnEnd, TurnEagerEnd)):
            turn = metrics.turn(event.turn)
        elif isinstance(event, SpeechStopped):
            turn = metrics.latest_ended()
        elif isinstance(event, PlaybackStarted):
            entry = replies.get(event.reply)
            if entry is not None and entry.turn is not None:
                turn = metrics.turn(entry.turn)
        elif isinstance(event, PlaybackInterrupted):
            cut = next((c for c in reversed(metrics.interruptions) if c.reply == event.reply and c.latency is not None), None)
            if cut is not None and interrupt_audio_t:
                changed = self._put(2, interrupt_audio_t[-1], event.audio_t, "barge_in", cut.latency, event.reply)
        if turn is not None and turn.ended:
            stop = turn.speech_stop_audio_t
            changed |= self._put(0, stop, turn.eager_end_audio_t, "stop_eager", turn.eager_end_delay, turn.turn)
            changed |= self._put(1, stop, turn.end_audio_t, "stop_end", turn.end_of_turn_delay, turn.turn)
            entry = replies.get(turn.reply) if turn.reply is not None else None
            if entry is not None:
                changed |= self._put(2, turn.end_audio_t, entry.play_start_audio_t, "end_audio",
                                     turn.response_latency, turn.turn)
        return changed

    def _put(self, row: int, start: float | None, end: float | None, kind: str, seconds: float | None,
             number: int) -> bool:
        if start is None or end is None or seconds is None:
            return False
        key = (kind, number)
        gap = Gap(row, start, max(start, end), kind, round(seconds * 1000), key)
        old = self.by_key.get(key)
        if old == gap:
            return False
        if old is not None:
            self.rows[old.row].remove(old)
        self.by_key[key] = gap
        insort(self.rows[row], gap, key=_start)
        self.longest_s = max(self.longest_s, gap.end - gap.start)
        return True

    def in_row(self, row: int, start: float, end: float) -> list[Gap]:
        """Gaps of ``row`` that start before ``end`` and reach ``start`` or later."""
        gaps = self.rows[row]
        lo = bisect_left(gaps, start - self.longest_s, key=_start)
        hi = bisect_left(gaps, end, key=_start)
        return [gap for gap in gaps[lo:hi] if gap.end >= start]


__all__ = ["GAP_ROWS", "GapBook"]
