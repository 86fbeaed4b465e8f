"""Sample-accurate speech edges: move a VAD's edge to the energy edge next to it.

Silero decides per 32 ms frame and needs a few frames of evidence, so the edges
:class:`~voiceconsole.audio.vad.ReferenceVad` dates from its frames are off by a frame or
more: late on soft onsets (an "s" or "f" can run 140 ms before Silero calls it speech), and
early or late on decaying ends. :class:`EdgeRefiner` keeps the last second of samples and,
when the VAD reports an edge, looks at the short-time energy around it:

- the envelope is the RMS of 5 ms windows every 1 ms;
- the noise floor is a low percentile of that envelope over the silence on the far side of the
  edge (before a start; after a stop, which the VAD has already waited through);
- the edge is where the envelope crosses ``margin_db`` above that floor, followed from the
  loudest point of the VAD's own speech frames outwards while the sound goes on: above that
  level, or a fading tail still ``tail_db`` above the floor over 20 ms, with gaps shorter than
  ``gap_ms`` bridged (the closure before a released final "t"); within the 5 ms window where
  it ends, the edge is the first (or last) sample that loud, so a hard edge is sample-exact;
- the search never leaves a bounded window around the VAD's edge
  (:data:`START_WINDOW_S`, :data:`STOP_WINDOW_S`); with no clear energy edge in it (too quiet,
  too noisy, digital silence) the VAD's edge is kept.

It reads only samples already fed, within the time the VAD takes to decide anyway, so edges
are reported no later than before. The cost is a few numpy passes over about half a second of
audio per edge, plus one copy of every block into the ring.
"""

from __future__ import annotations

import math

import numpy as np

START_WINDOW_S = (-0.192, 0.064)
"""Bounds of the search around the VAD's start (seconds before, after): the VAD needs three
frames above threshold (96 ms) to start, so the onset is never far past its first frame, and
a soft fricative can run six frames before it."""
STOP_WINDOW_S = (-0.096, 0.192)
"""Bounds of the search around the VAD's stop: it waits 200 ms of silence before reporting,
so the samples up to 192 ms past its frame are in by then."""
NOISE_S = 0.2
"""Silence before a start's search window that its noise floor is estimated from."""
HISTORY_S = 1.0
"""Samples kept: the longest search plus its noise stretch plus the VAD's decision delay."""


class EdgeRefiner:
    """Ring buffer of recent samples and the search that refines a VAD edge on it.

    Feed every sample the VAD sees through :meth:`push`, in order; then
    :meth:`refine_start` / :meth:`refine_stop` take the VAD's edge in samples since reset and
    return the refined one (the same value when nothing clear is found).

    ``margin_db``: how far over the noise floor speech must be (the VAD's loudest window must be
    twice that); ``min_dbfs``: the least level that counts at all (digital silence has no
    floor); ``tail_db``, ``gap_ms``: what keeps a walk going (see the module docstring);
    ``window_ms``, ``long_window_ms``: the envelope's windows.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        *,
        margin_db: float = 12.0,
        min_dbfs: float = -80.0,
        tail_db: float = 3.0,
        gap_ms: float = 30.0,
        window_ms: float = 5.0,
        long_window_ms: float = 20.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.margin = 10 ** (margin_db / 10)
        self.min_power = 10 ** (min_dbfs / 10)
        self.tail_margin = 10 ** (tail_db / 10)
        self.win = max(1, round(window_ms * sample_rate / 1000))
        self.long_win = max(self.win, round(long_window_ms * sample_rate / 1000))
        self.hop = max(1, sample_rate // 1000)
        self.gap = max(1, round(gap_ms * sample_rate / 1000 / self.hop))
        self._ring = np.zeros(round(HISTORY_S * sample_rate), dtype=np.float32)
        self._total = 0

    def reset(self) -> None:
        """Forget the samples (start of a new stream)."""
        self._total = 0

    @property
    def samples_seen(self) -> int:
        """Samples pushed since reset."""
        return self._total

    def push(self, samples: np.ndarray) -> None:
        """Append samples; only the last :data:`HISTORY_S` seconds are kept."""
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        size = len(self._ring)
        if len(data) > size:
            self._total += len(data) - size
            data = data[-size:]
        at = self._total % size
        first = min(len(data), size - at)
        self._ring[at : at + first] = data[:first]
        self._ring[: len(data) - first] = data[first:]
        self._total += len(data)

    def _span(self, start: int, end: int) -> tuple[int, np.ndarray]:
        """The held samples of ``[start, end)`` (clamped to what is held), and where they begin."""
        size = len(self._ring)
        start = max(start, self._total - size, 0)
        end = min(end, self._total)
        if end <= start:
            return start, np.zeros(0, dtype=np.float32)
        idx = np.arange(start, end) % size
        return start, self._ring[idx]

    def _envelope(self, start: int, end: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Mean power of the ``win``-sample window at every hop from ``start`` within ``[start, end)``,
        and of the ``long_win`` samples centred on each (cut at the ends of the span)."""
        first, samples = self._span(start, end)
        if len(samples) < self.win:
            return first, np.zeros(0), np.zeros(0)
        sq = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
        starts = np.arange(0, len(samples) - self.win + 1, self.hop)
        short = (sq[starts + self.win] - sq[starts]) / self.win
        centre = starts + self.win // 2
        lo = np.clip(centre - self.long_win // 2, 0, len(samples))
        hi = np.clip(centre + self.long_win // 2, 0, len(samples))
        return first, short, (sq[hi] - sq[lo]) / np.maximum(hi - lo, 1)

    def _floor(self, start: int, end: int, percentile: float = 20) -> float | None:
        """Noise power over ``[start, end)``: a low percentile of its windows, or None if too short."""
        _, env, _ = self._envelope(start, end)
        if len(env) < 10:
            return None
        return float(np.percentile(env, percentile))

    def _bounds(self, at: int, window_s: tuple[float, float]) -> tuple[int, int]:
        lo = at + math.floor(window_s[0] * self.sample_rate)
        hi = at + math.ceil(window_s[1] * self.sample_rate)
        return lo, hi

    def window(self, kind: str, at: int) -> tuple[int, int]:
        """The samples ``[lo, hi]`` a ``"start"`` or ``"stop"`` edge at ``at`` may move to."""
        return self._bounds(at, START_WINDOW_S if kind == "start" else STOP_WINDOW_S)

    def refine_start(self, at: int) -> int:
        """Onset for a VAD start at sample ``at`` (the start of its first speech frame)."""
        lo, hi = self.window("start", at)
        noise = self._floor(lo - round(NOISE_S * self.sample_rate), lo)
        if noise is None:
            # Speech right at the start of the stream: the quietest of what came before it.
            noise = self._floor(0, at, percentile=10)
        if noise is None:
            return at
        first, env, smooth = self._envelope(lo, hi + self.win)
        found = self._walk(env, smooth, noise, anchor_hi=len(env), forward=False)
        if found is None:
            return at
        # Inside the first loud window, the first sample as loud as the threshold (a hard onset
        # is then dated to the sample, not to the window that first overlaps it).
        begin = first + found * self.hop
        _, samples = self._span(begin, begin + self.win)
        loud = np.flatnonzero(samples.astype(np.float64) ** 2 >= self._threshold(noise))
        edge = begin + (int(loud[0]) if len(loud) else 0)
        return min(hi, max(lo, edge))

    def refine_stop(self, at: int, silence_from: int) -> int:
        """End for a VAD stop at sample ``at``, the VAD having heard silence since ``silence_from``."""
        lo, hi = self.window("stop", at)
        noise = self._floor(silence_from, self._total)
        if noise is None:
            return at
        first, env, smooth = self._envelope(lo, hi)
        found = self._walk(
            env,
            smooth,
            noise,
            anchor_hi=max(1, (at - lo) // self.hop + 1),
            forward=True,
        )
        if found is None:
            return at
        begin = first + found * self.hop
        _, samples = self._span(begin, begin + self.win)
        loud = np.flatnonzero(samples.astype(np.float64) ** 2 >= self._threshold(noise))
        edge = begin + (int(loud[-1]) + 1 if len(loud) else self.win)
        return min(hi, max(lo, edge))

    def _threshold(self, noise: float) -> float:
        """Power an edge must reach over a noise floor of power ``noise``."""
        return max(noise * self.margin, self.min_power)

    def _walk(
        self,
        env: np.ndarray,
        smooth: np.ndarray,
        noise: float,
        *,
        anchor_hi: int,
        forward: bool,
    ) -> int | None:
        """Index of the last window above threshold reached from the loudest of ``env[:anchor_hi]``.

        Walks away from the speech (backwards for an onset, forwards for an end) while the sound
        goes on: a window above threshold, or a ``long_win`` stretch still a little above the
        noise (a fading tail), with gaps of up to ``gap`` bridged (the closure before a released
        final "t"). None when the anchor is not clearly above the noise.
        """
        if len(env) == 0 or anchor_hi <= 0:
            return None
        threshold = self._threshold(noise)
        tail = max(noise * self.tail_margin, self.min_power)
        anchor = int(np.argmax(env[:anchor_hi]))
        if env[anchor] < threshold * self.margin:
            return None
        edge = alive = i = anchor
        step = 1 if forward else -1
        while 0 <= i < len(env) and abs(i - alive) <= self.gap:
            if env[i] >= threshold:
                edge = alive = i
            elif smooth[i] >= tail:
                alive = i
            i += step
        return edge
