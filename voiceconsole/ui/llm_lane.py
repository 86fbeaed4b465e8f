"""The LLM lane: every request of the ``llm`` responder on the timeline.

:class:`LlmTrack` keeps the requests from the ``llm.*`` events (the model holds one, under the
``llm`` version); :func:`draw_llm` draws them for :class:`~voiceconsole.ui.lanes.LlmLane`. A
speculative request (started on ``turn.eager_end``) is drawn dashed ``┄`` in the eager colour,
apart from a committed one's solid ``─``; ``✓`` marks a guess kept on ``turn.end``, ``✗`` one
thrown away (wasted: resume or a changed transcript), ``✕`` one cut by an interrupt, ``!`` a
failure, ``•`` the first token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.style import Style

from voiceconsole.events import (
    Event,
    LlmCancelled,
    LlmCommitted,
    LlmDone,
    LlmFailed,
    LlmFirstToken,
    LlmRequest,
)
from voiceconsole.ui.cells import CellRow

if TYPE_CHECKING:
    from voiceconsole.ui.lanes import Window

LLM_HELP = "? speculative ┄ › request ─ • first token ✓ kept on turn.end ✗ wasted ✕ interrupted ! failed"


@dataclass
class LlmSpan:
    """One request on the audio-time axis."""

    request: int
    turn: int | None
    speculative: bool
    start: float
    first_token: float | None = None
    end: float | None = None
    """When it finished, failed or was cancelled (``None``: streaming)."""
    committed: float | None = None
    """When a speculative request was kept."""
    outcome: str = "streaming"
    """``streaming``, ``done``, ``wasted``, ``interrupted`` or ``failed``."""


class LlmTrack:
    """The requests of a session, by number."""

    def __init__(self) -> None:
        self.spans: dict[int, LlmSpan] = {}

    def __bool__(self) -> bool:
        return bool(self.spans)

    def add(self, event: Event) -> bool:
        """Take one event; returns whether the track changed."""
        if isinstance(event, LlmRequest):
            self.spans[event.request] = LlmSpan(
                event.request, event.turn, event.speculative, event.audio_t
            )
            return True
        span = (
            self.spans.get(getattr(event, "request", 0))
            if isinstance(event, _KINDS)
            else None
        )
        if span is None:
            return False
        at = event.audio_t
        if isinstance(event, LlmFirstToken):
            span.first_token = at
        elif isinstance(event, LlmCommitted):
            span.committed = at
        elif isinstance(event, LlmDone):
            span.end, span.outcome = at, "done"
        elif isinstance(event, LlmFailed):
            span.end, span.outcome = at, "failed"
        elif isinstance(event, LlmCancelled):
            wasted = span.speculative and span.committed is None
            span.end, span.outcome = at, "wasted" if wasted else "interrupted"
        return True

    def in_window(self, start: float, end: float, now: float) -> list[LlmSpan]:
        """The requests that reach into ``[start, end)``, oldest first."""
        out = []
        for span in self.spans.values():
            last = span.end if span.end is not None else now
            if span.committed is not None:
                last = max(last, span.committed)
            if last >= start and span.start < end:
                out.append(span)
        return out


_KINDS = (LlmFirstToken, LlmCommitted, LlmDone, LlmFailed, LlmCancelled)

END_MARKS = {
    "wasted": ("✗", "interrupt"),
    "interrupted": ("✕", "interrupt"),
    "failed": ("!", "interrupt"),
}


def draw_llm(
    cells: CellRow, win: Window, track: LlmTrack, style: Callable[[str], Style]
) -> None:
    """Paint the requests of ``track`` that reach into the window: lines, then each request's
    start and number, then the marks (an outcome wins a cell shared with the next request's
    start: a guess thrown away on ``turn.end`` and the request made then share one)."""
    spans = track.in_window(win.start, win.end, win.now)

    def last(span: LlmSpan) -> float:
        return span.end if span.end is not None else win.now

    def line_style(span: LlmSpan) -> Style:
        guess = span.speculative and span.committed is None
        return style(
            "interrupt" if span.outcome == "wasted" else "eager" if guess else "reply"
        )

    for span in spans:
        end = last(span)
        cells.fill(
            win.col(span.start),
            win.col(end) + 1,
            "┄" if span.speculative else "─",
            line_style(span),
        )
        if span.committed is not None and span.committed > end:
            cells.fill(
                win.col(end) + 1, win.col(span.committed) + 1, "┄", style("eager")
            )
    for span in spans:
        start = win.col(span.start)
        cells.put(
            start,
            "?" if span.speculative else "›",
            style("eager" if span.speculative else "reply"),
        )
        cells.text(start + 1, str(span.request), line_style(span))
    for span in spans:
        if span.first_token is not None and win.col(span.first_token) > win.col(
            span.start
        ) + len(str(span.request)):
            cells.put(win.col(span.first_token), "•", line_style(span))
        if span.committed is not None:
            cells.put(win.col(span.committed), "✓", style("end"))
        mark = END_MARKS.get(span.outcome)
        if mark is not None:
            cells.put(win.col(last(span)), mark[0], style(mark[1]))


__all__ = ["LLM_HELP", "LlmSpan", "LlmTrack", "draw_llm"]
