"""The playback buffer between TTS and the speaker.

TTS chunks (already at the speaker's rate) are pushed on the event loop; the speaker pulls
fixed-size blocks, either from PortAudio's real-time callback or from the file-sink driver.
:meth:`PlaybackBuffer.interrupt` empties it at once, so the very next block pulled is silence.
What happened (a reply started, finished, was cut off after N samples) is recorded as
:class:`PlaybackNotice` objects that the event loop drains and turns into events.

The lock is held only for short list operations, never across I/O, so the real-time callback
never waits long.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class PlaybackNotice:
    """Something the speaker did, at output sample ``at_sample`` (samples pulled so far)."""

    kind: Literal["start", "finish", "interrupt"]
    reply: int
    samples_played: int
    at_sample: int


class PlaybackBuffer:
    """Thread-safe queue of reply audio with instant interrupt."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._lock = threading.Lock()
        self._segments: deque[tuple[int, np.ndarray]] = deque()
        self._offset = 0  # read position inside _segments[0]
        self._ended: set[int] = set()  # replies whose last audio has been pushed
        self._played: dict[int, int] = {}  # reply -> samples played so far
        self._current: int | None = None  # reply being heard now
        self._notices: deque[PlaybackNotice] = deque()
        self._pending_interrupt: tuple[int, int] | None = None
        self.samples_pulled = 0
        """Total samples handed to the speaker (reply audio and silence)."""
        self.underruns = 0
        """Blocks that ran dry in the middle of a reply still being synthesized."""

    # --- producer side (event loop) ---------------------------------------------------------

    def push(self, reply: int, samples: np.ndarray) -> None:
        """Queue audio of ``reply`` (float32 mono at ``sample_rate``)."""
        if samples.size == 0:
            return
        with self._lock:
            self._segments.append((reply, np.asarray(samples, dtype=np.float32)))
            self._played.setdefault(reply, 0)

    def end_reply(self, reply: int) -> None:
        """No more audio will come for ``reply``: it finishes when what is queued has played."""
        with self._lock:
            self._ended.add(reply)
            if reply not in self._played:
                self._played[reply] = 0
            self._finish_if_drained_locked(reply, self.samples_pulled)

    def interrupt(self) -> int | None:
        """Drop all queued audio now. Returns the reply that was being heard, if any."""
        with self._lock:
            cut = self._current
            if cut is not None:
                self._pending_interrupt = (cut, self._played.get(cut, 0))
            self._segments.clear()
            self._offset = 0
            self._current = None
            self._ended.clear()
            self._played.clear()
            return cut

    # --- consumer side (speaker) -------------------------------------------------------------

    def pull_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (float32, 1-D) with the next samples; silence where nothing is queued."""
        n = out.shape[0]
        with self._lock:
            block_start = self.samples_pulled
            if self._pending_interrupt is not None:
                reply, played = self._pending_interrupt
                self._pending_interrupt = None
                self._notices.append(PlaybackNotice("interrupt", reply, played, block_start))
            filled = 0
            while filled < n and self._segments:
                reply, seg = self._segments[0]
                if self._current != reply:
                    self._current = reply
                    if self._played.get(reply, 0) == 0:
                        self._notices.append(
                            PlaybackNotice("start", reply, 0, block_start + filled)
                        )
                take = min(n - filled, seg.shape[0] - self._offset)
                out[filled : filled + take] = seg[self._offset : self._offset + take]
                filled += take
                self._offset += take
                self._played[reply] = self._played.get(reply, 0) + take
                if self._offset >= seg.shape[0]:
                    self._segments.popleft()
                    self._offset = 0
                    self._finish_if_drained_locked(reply, block_start + filled)
            if filled < n:
                out[filled:] = 0.0
                if self._current is not None and self._current not in self._ended:
                    self.underruns += 1
            self.samples_pulled += n

    def skip_silence(self, n: int) -> bool:
        """If nothing is queued, playing or waiting to be reported, count ``n`` samples of silence
        as pulled and return True (what :meth:`pull_into` would do, without filling a block);
        otherwise change nothing and return False (pull the block instead)."""
        with self._lock:
            if self._segments or self._current is not None or self._pending_interrupt is not None:
                return False
            self.samples_pulled += n
            return True

    def pull(self, n: int) -> np.ndarray:
        """Allocate and return the next ``n`` samples (for file sinks and tests)."""
        out = np.empty(n, dtype=np.float32)
        self.pull_into(out)
        return out

    def _finish_if_drained_locked(self, reply: int, at_sample: int) -> None:
        if reply not in self._ended:
            return
        if any(seg[0] == reply for seg in self._segments):
            return
        played = self._played.pop(reply, 0)
        self._ended.discard(reply)
        if played > 0:
            self._notices.append(PlaybackNotice("finish", reply, played, at_sample))
        if self._current == reply:
            self._current = None

    # --- state -----------------------------------------------------------------------------

    def drain_notices(self) -> list[PlaybackNotice]:
        """Take what happened since the last call, oldest first."""
        if not self._notices:  # the usual case; a notice added meanwhile is taken next call
            return []
        with self._lock:
            notices = list(self._notices)
            self._notices.clear()
            return notices

    @property
    def playing(self) -> int | None:
        """The reply being heard, or ``None``."""
        return self._current

    @property
    def busy(self) -> bool:
        """Whether any reply audio is queued or playing."""
        with self._lock:
            return bool(self._segments) or self._current is not None

    def queued_samples(self) -> int:
        """Samples waiting to be played."""
        with self._lock:
            total = sum(seg.shape[0] for _, seg in self._segments)
            return total - self._offset
