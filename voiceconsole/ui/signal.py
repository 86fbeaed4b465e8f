"""The offline engine's turn signal over audio time, kept compactly: a few bytes per VAD frame.

``vad.signal`` events (:class:`~voiceconsole.events.VadSignalBatch`) arrive about ten times a
second for as long as the local engine runs, so, like the levels (:mod:`voiceconsole.ui.levels`),
they are not kept as objects: each VAD frame (32 ms) is one byte of speech probability, two
bytes each of the speech and silence runs, and one byte of the rule's phase, in ``array``\\ s
indexed by frame number. The settings the rule ran with (threshold, start/eager/end ms) change
rarely and are kept as a short list of :class:`SignalRule`. Smart Turn's verdicts (a batch's
``smart_turn_p``, once per pause at most) are few and kept as :class:`SmartTurnMark`\\ s.
"""

from __future__ import annotations

import dataclasses
import math
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from voiceconsole.events import SIGNAL_SCALE, VadSignalBatch

NO_FRAME = 255
"""Code of a frame without a probability (and of a phase not known)."""
TOP_CODE = 254
"""The highest stored probability code (an event's 255 is stored as 254: 0.4 % lower)."""
MAX_RUN_MS = 65535
"""Runs are stored in ms as 16-bit numbers, held at this (a minute of silence is plenty)."""
PHASES = ("idle", "turn", "eager")
"""Phase codes: the index in this tuple."""
MAX_JUMP_S = 3600.0
"""A batch further than this past the last frame is ignored (see ``levels.MAX_JUMP_S``)."""


@dataclass(frozen=True, slots=True)
class SignalRule:
    """The rule's settings in force from frame ``first_frame`` on."""

    first_frame: int
    threshold: float
    start_ms: int
    eager_ms: int
    end_ms: int
    smart_threshold: float | None = None
    """Smart Turn's threshold when it is the turn detector (``None``: the silence rule)."""


@dataclass(frozen=True, slots=True)
class SmartTurnMark:
    """One Smart Turn run: at frame ``frame`` (the last frame of the pause that made it run)."""

    frame: int
    probability: float
    """P(turn complete)."""
    threshold: float

    @property
    def complete(self) -> bool:
        """Whether Smart Turn ended the turn here."""
        return self.probability >= self.threshold

    @property
    def label(self) -> str:
        """``st.98``: the probability as the lane writes it."""
        return "st" + f"{self.probability:.2f}".removeprefix("0")


@dataclass(frozen=True, slots=True)
class SignalColumn:
    """What one timeline column shows of the signal."""

    probability: float | None
    """The highest speech probability of the column's frames (``None``: no frame)."""
    phase: str | None
    """The phase the rule judged the column's last counted frame in: ``idle`` counts speech
    towards a start, ``turn`` and ``eager`` count silence towards the eager and end marks."""
    speech_ms: int
    silence_ms: int
    rule: SignalRule | None


class SignalTrack:
    """Speech probabilities and the turn rule's counters, one entry per VAD frame."""

    __slots__ = (
        "_phase",
        "frame_s",
        "phases",
        "probs",
        "rules",
        "silence",
        "smart",
        "speech",
    )

    def __init__(self) -> None:
        self.frame_s = 0.0
        """Length of a frame (from the first batch; 0 until then)."""
        self.probs = array("B")
        """Probability codes, 0-254 (``p * 255``), :data:`NO_FRAME` where none arrived."""
        self.speech = array("H")
        """Speech in a row at each frame, ms."""
        self.silence = array("H")
        """Silence in a row at each frame, ms."""
        self.phases = array("B")
        """The phase each frame was judged in (index into :data:`PHASES`)."""
        self.rules: list[SignalRule] = []
        self.smart: list[SmartTurnMark] = []
        """Smart Turn's runs, in frame order."""
        self._phase = (
            0  # the phase after the last batch: the one the next batch's frames meet
        )

    def __len__(self) -> int:
        return len(self.probs)

    def __bool__(self) -> bool:
        return bool(self.probs)

    def add(self, e: VadSignalBatch) -> bool:
        """Take one batch; ``False`` if it was ignored (another frame length, or far off)."""
        if not e.probs or e.frame_ms <= 0:
            return False
        frame_s = e.frame_ms / 1000.0
        if not self.frame_s:
            self.frame_s = frame_s
        elif abs(frame_s - self.frame_s) > 1e-9:
            return False
        first = round(e.frames_audio_t / self.frame_s)
        n = len(e.probs)
        missing = first + n - len(self.probs)
        if first < 0 or missing * self.frame_s > MAX_JUMP_S:
            return False
        if missing > 0:
            self.probs.frombytes(bytes([NO_FRAME]) * missing)
            self.phases.frombytes(bytes([NO_FRAME]) * missing)
            self.speech.extend([0] * missing)
            self.silence.extend([0] * missing)
        # Every frame of a batch was judged in the phase the previous batch left: a batch ends
        # at each turn edge, so only its last frame can have changed the phase.
        judged = self._phase
        speech_runs = round(e.speech_ms / e.frame_ms)
        silence_runs = round(e.silence_ms / e.frame_ms)
        for i, code in enumerate(e.probs):
            k = first + i
            back = n - 1 - i  # frames before the batch's last one
            self.probs[k] = min(TOP_CODE, max(0, int(code)))
            self.phases[k] = judged
            # The runs are known at the batch's last frame; earlier frames of the same run are
            # that many frames shorter (frames before the run: 0).
            self.speech[k] = (
                min(MAX_RUN_MS, round((speech_runs - back) * e.frame_ms))
                if back < speech_runs
                else 0
            )
            self.silence[k] = (
                min(MAX_RUN_MS, round((silence_runs - back) * e.frame_ms))
                if back < silence_runs
                else 0
            )
        self._phase = PHASES.index(e.phase) if e.phase in PHASES else 0
        rule = SignalRule(
            first, e.threshold, e.start_ms, e.eager_ms, e.end_ms, e.smart_turn_threshold
        )
        last = self.rules[-1] if self.rules else None
        if last is None or dataclasses.replace(last, first_frame=first) != rule:
            self.rules.append(rule)
        if e.smart_turn_p is not None:
            mark = SmartTurnMark(
                first + n - 1, e.smart_turn_p, e.smart_turn_threshold or 0.5
            )
            # A replayed batch (seek back) may bring a run again: keep one per frame.
            at = bisect_left(self.smart, mark.frame, key=lambda m: m.frame)
            if at < len(self.smart) and self.smart[at].frame == mark.frame:
                self.smart[at] = mark
            else:
                self.smart.insert(at, mark)
        return True

    def smart_marks(
        self, first_col: int, count: int, col_s: float
    ) -> list[tuple[int, SmartTurnMark]]:
        """Smart Turn's runs in ``count`` columns of ``col_s`` seconds from ``first_col``, as
        (column index from ``first_col``, run)."""
        if not self.smart or not self.frame_s or count <= 0:
            return []
        lo = math.floor(first_col * col_s / self.frame_s)
        hi = math.ceil((first_col + count) * col_s / self.frame_s)
        key = lambda m: m.frame
        found = self.smart[
            bisect_left(self.smart, lo, key=key) : bisect_left(self.smart, hi, key=key)
        ]
        out = []
        for mark in found:
            col = math.floor((mark.frame + 0.5) * self.frame_s / col_s) - first_col
            if 0 <= col < count:
                out.append((col, mark))
        return out

    def rule_at(self, frame: int) -> SignalRule | None:
        """The settings in force at ``frame`` (the first ones before any)."""
        if not self.rules:
            return None
        k = bisect_right(self.rules, frame, key=lambda r: r.first_frame) - 1
        return self.rules[max(0, k)]

    def columns(self, first_col: int, count: int, col_s: float) -> list[SignalColumn]:
        """``count`` columns of ``col_s`` seconds from column ``first_col``: the highest
        probability of each column's frames and the counters at its longest run."""
        out: list[SignalColumn] = []
        if not self.frame_s or count <= 0:
            return [SignalColumn(None, None, 0, 0, None)] * max(0, count)
        f = self.frame_s
        total = len(self.probs)
        # Frame k covers [k f, (k+1) f): a column takes every frame that overlaps it.
        edges = (
            np.arange(first_col, first_col + count + 1, dtype=np.float64) * col_s / f
        )
        lo = np.clip(np.floor(edges[:-1] + 1e-9).astype(np.int64), 0, total)
        hi = np.clip(
            np.maximum(np.ceil(edges[1:] - 1e-9).astype(np.int64), lo + 1), 0, total
        )
        probs = np.frombuffer(self.probs, dtype=np.uint8)
        silence = np.frombuffer(self.silence, dtype=np.uint16)
        speech = np.frombuffer(self.speech, dtype=np.uint16)
        phases = np.frombuffer(self.phases, dtype=np.uint8)
        for a, b in zip(lo.tolist(), hi.tolist()):
            if a >= b:
                out.append(SignalColumn(None, None, 0, 0, None))
                continue
            codes = probs[a:b]
            have = codes[codes != NO_FRAME]
            if have.size == 0:
                out.append(SignalColumn(None, None, 0, 0, None))
                continue
            # The frame with the longest run that counts (speech between turns, silence in one)
            # shows the counter at its highest in the column.
            in_turn = phases[a:b] != 0
            runs = np.where(in_turn, silence[a:b], speech[a:b]).astype(np.int64)
            runs[codes == NO_FRAME] = -1
            k = a + int(np.argmax(runs))
            phase = self.phases[k]
            out.append(
                SignalColumn(
                    int(have.max()) / SIGNAL_SCALE,
                    PHASES[phase] if phase < len(PHASES) else None,
                    int(self.speech[k]),
                    int(self.silence[k]),
                    self.rule_at(k),
                )
            )
        return out


__all__ = [
    "NO_FRAME",
    "PHASES",
    "SignalColumn",
    "SignalRule",
    "SignalTrack",
    "SmartTurnMark",
]
