"""The playback buffer's silent fast path does what pulling a silent block would."""

from __future__ import annotations

import numpy as np

from voiceconsole.audio.playback import PlaybackBuffer


def test_skip_silence_counts_samples_only_when_nothing_is_queued_playing_or_cut() -> None:
    buf = PlaybackBuffer(16000)
    assert buf.skip_silence(320) and buf.samples_pulled == 320
    buf.push(1, np.full(500, 0.5, dtype=np.float32))
    assert not buf.skip_silence(320) and buf.samples_pulled == 320  # audio queued: pull it
    block = buf.pull(320)
    assert np.all(block == 0.5) and [n.kind for n in buf.drain_notices()] == ["start"]
    assert not buf.skip_silence(320)  # reply 1 is playing (not ended): an underrun, pulled as such
    buf.interrupt()
    assert not buf.skip_silence(320)  # the interrupt notice comes with the next pull
    buf.pull(320)
    assert [(n.kind, n.samples_played) for n in buf.drain_notices()] == [("interrupt", 320)]
    assert buf.skip_silence(320) and buf.samples_pulled == 3 * 320 + 320
    assert buf.drain_notices() == []


def test_a_reply_that_ends_is_reported_and_then_the_buffer_is_idle() -> None:
    buf = PlaybackBuffer(16000)
    buf.push(2, np.full(320, 0.25, dtype=np.float32))
    buf.end_reply(2)
    buf.pull(320)
    assert [(n.kind, n.reply, n.samples_played) for n in buf.drain_notices()] == [("start", 2, 0), ("finish", 2, 320)]
    assert buf.skip_silence(320) and buf.underruns == 0
