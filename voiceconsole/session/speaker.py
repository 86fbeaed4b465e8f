"""The speaker side of the session: playback buffer -> sink, metered, tapped, announced."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voiceconsole.audio.io import AudioSink
from voiceconsole.audio.levels import LevelWindow, MeterSlot, block_stats
from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.engines.base import Emit
from voiceconsole.events import (
    AudioLevel,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
)
from voiceconsole.session.options import AudioTap


class SpeakerOutput:
    """Feeds the sink and turns what it played into levels, taps and ``playback.*`` events.

    A tick-driven sink gets the audio due at each session tick (:meth:`play_due`); a
    self-clocked sink pulls on its own and reports through :meth:`on_progress`.
    """

    def __init__(
        self,
        *,
        sink: AudioSink,
        playback: PlaybackBuffer,
        level_interval_s: float,
        meter: MeterSlot,
        taps: list[AudioTap],
        emit: Emit,
        played_out: Callable[[int], None],
    ) -> None:
        self.sink = sink
        self.playback = playback
        self.meter = meter
        self.taps = taps
        self.emit = emit
        self.played_out = played_out
        self._levels = LevelWindow(sink.sample_rate, level_interval_s)
        self._silence = np.zeros(0, dtype=np.float32)

    def play_due(self, now: float) -> None:
        """Tick-driven sinks: write the speaker audio due up to session time ``now``."""
        due = int(round(now * self.sink.sample_rate)) - self.playback.samples_pulled
        if due <= 0:
            return
        if self.playback.skip_silence(due):
            # Nothing to play (most ticks): a shared silent block, measured without looking.
            block = self._silence_block(due)
            self.sink.write(block)
            self._on_block(block, silent=True)
        else:
            block = self.playback.pull(due)
            self.sink.write(block)
            self._on_block(block)
        self._drain_notices()

    def on_progress(self, played: np.ndarray | None = None) -> None:
        """Self-clocked sinks call this on the event loop after playing ``played``."""
        if played is not None and played.size:
            self._on_block(played)
        self._drain_notices()

    def _silence_block(self, n: int) -> np.ndarray:
        """``n`` zeros, read-only and reused while ``n`` stays the same."""
        block = self._silence
        if block.shape[0] != n:
            block = np.zeros(n, dtype=np.float32)
            block.flags.writeable = False
            self._silence = block
        return block

    def _on_block(self, block: np.ndarray, silent: bool = False) -> None:
        for tap in self.taps:
            tap("speaker", block, self.sink.sample_rate)
        if block.size:
            stats = (0.0, 0.0) if silent else block_stats(block)
            self.meter.update_from(*stats, block.size)
            level = self._levels.add_stats(*stats, block.size)
        else:
            self.meter.update(block)
            level = self._levels.add(block)
        if level is not None:
            self.emit(AudioLevel, source="speaker", rms_dbfs=level[0], peak_dbfs=level[1])

    def _drain_notices(self) -> None:
        rate = self.sink.sample_rate
        for notice in self.playback.drain_notices():
            if notice.kind == "start":
                self.emit(PlaybackStarted, reply=notice.reply)
            elif notice.kind == "finish":
                self.played_out(notice.reply)
                self.emit(PlaybackFinished, reply=notice.reply, samples_played=notice.samples_played, sample_rate=rate)
            else:
                self.emit(
                    PlaybackInterrupted, reply=notice.reply, samples_played=notice.samples_played, sample_rate=rate
                )
