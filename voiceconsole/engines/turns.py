"""Turn numbering and ordering, shared by every STT engine.

Engines report raw turn signals (``start``, ``update``, ``eager_end``, ``resume``, ``end``);
the sequencer numbers the turns and keeps every turn in the order
``start -> update* -> (eager_end -> resume?)* -> end``. Servers are parsed leniently: an update
or end without a start opens the turn first; a resume without an eager end is dropped; a start
while a turn is open closes the open one with what was last heard, so no transcript is lost.
"""

from __future__ import annotations

from voiceconsole.engines.base import Emit
from voiceconsole.events import TurnEagerEnd, TurnEnd, TurnResume, TurnStart, TurnUpdate


class TurnSequencer:
    """Numbers turns and emits well-ordered turn events through ``emit``."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.turn = 0
        """Number of the current (or last) turn; 0 before the first."""
        self.open = False
        """Whether a turn is in progress."""
        self.eager = False
        """Whether the open turn is in the eager-ended state."""
        self.transcript = ""
        """Latest cumulative transcript of the open turn."""

    def start(self) -> None:
        """A turn began (closing a turn left open, with its last transcript)."""
        if self.open:
            self.end(self.transcript)
        self.turn += 1
        self.open = True
        self.eager = False
        self.transcript = ""
        self._emit(TurnStart, turn=self.turn)

    def _ensure_open(self) -> None:
        if not self.open:
            self.start()

    def update(self, transcript: str) -> None:
        """Cumulative transcript of the open turn; unchanged text is not re-emitted."""
        self._ensure_open()
        if transcript == self.transcript:
            return
        self.transcript = transcript
        self._emit(TurnUpdate, turn=self.turn, transcript=transcript)

    def eager_end(self, transcript: str | None = None) -> None:
        """The user has probably finished."""
        self._ensure_open()
        if transcript is not None:
            self.transcript = transcript
        self.eager = True
        self._emit(TurnEagerEnd, turn=self.turn, transcript=self.transcript)

    def resume(self) -> None:
        """The user went on after an eager end (ignored when not eager-ended)."""
        if not self.open or not self.eager:
            return
        self.eager = False
        self._emit(TurnResume, turn=self.turn)

    def end(self, transcript: str | None = None) -> None:
        """The turn is over; ``transcript`` is final (``None`` keeps the last one)."""
        self._ensure_open()
        if transcript is not None:
            self.transcript = transcript
        self.open = False
        self.eager = False
        self._emit(TurnEnd, turn=self.turn, transcript=self.transcript)
