"""Echo cancellation and noise suppression: WebRTC's audio processing module (AEC3).

The module comes from the ``livekit`` package (``livekit.rtc.AudioProcessingModule``, the
one LiveKit's own console runs). It works on 10 ms frames of 16-bit PCM. The far end (what the
playback worker actually sent to the device) goes in through :meth:`EchoCanceller.far`, the
mic through :meth:`EchoCanceller.near`; both run on the event loop, never in an audio
callback (the workers hand their blocks over with ``call_soon_threadsafe``). With the times
PortAudio reports (when a far-end block is heard, when a mic block was captured) each far-end
frame goes in FAR_LEAD_S before the mic frame that holds its echo; without them, one far-end
frame per mic frame, the delay hint being the streams' reported latencies.

A block whose length is not a whole number of 10 ms frames leaves its remainder for the next
block: at most one frame (10 ms) of added delay, less than one device block.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from voiceconsole.audio.resample import StreamResampler

INSTALL_HINT = "pip install 'voiceconsole[aec]'  (or: pip install livekit)"
SUPPORTED_RATES = (8000, 16000, 32000, 48000)
FAR_ACTIVE_DBFS = -50.0  # far-end frames quieter than this do not count towards ERLE
FAR_HOLD_S = 0.3  # the echo of a far-end frame can still arrive this long after it
ERLE_WINDOW_S = 0.5  # ERLE is reported over this much audio while the bot speaks
CONVERGED_DB = 15.0  # the first ERLE window this good ends the hold on the mic
FAR_BACKLOG_S = 0.5  # far-end audio waiting longer than this is fed at once
# Timed far-end frames go in this long before the mic frame captured with them.
FAR_LEAD_S = 0.06


class AecUnavailableError(RuntimeError):
    """The audio processing module cannot be loaded (the message says how to install it)."""


def load_apm(*, echo: bool, noise: bool) -> Any:
    """A new ``livekit.rtc.AudioProcessingModule``; AecUnavailableError when it cannot load."""
    try:
        from livekit.rtc import AudioProcessingModule
    except ImportError:
        raise AecUnavailableError(
            f"echo cancellation needs the livekit package: {INSTALL_HINT}"
        ) from None
    try:
        return AudioProcessingModule(
            echo_cancellation=echo,
            noise_suppression=noise,
            high_pass_filter=True,
            auto_gain_control=False,
        )
    except Exception as exc:  # noqa: BLE001 - a native library that fails to load says why
        raise AecUnavailableError(
            f"WebRTC's audio processing module did not load ({exc})"
        ) from None


def _to_pcm16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


class EchoCanceller:
    """Removes the far end's echo (and with ``noise`` stationary noise) from the mic.

    ``rate`` is the mic rate the canceller runs at (one of 8, 16, 32, 48 kHz); far-end blocks
    at another rate are resampled to it. ``delay_ms`` is the echo path's delay as PortAudio
    reports it (output plus input latency). ``on_erle(db)`` is called with the echo return loss
    enhancement over every ``ERLE_WINDOW_S`` of mic audio heard while the far end was active.
    """

    def __init__(
        self,
        rate: int = 16000,
        *,
        echo: bool = True,
        noise: bool = False,
        delay_ms: float = 0.0,
        on_erle: Callable[[float], None] | None = None,
    ) -> None:
        if rate not in SUPPORTED_RATES:
            raise ValueError(
                f"the audio processing module runs at {SUPPORTED_RATES} Hz, not {rate}"
            )
        self._apm = load_apm(echo=echo, noise=noise)
        from livekit.rtc import AudioFrame

        self._frame_type = AudioFrame
        self.rate = rate
        self.echo = echo
        self.noise = noise
        self.frame = rate // 100
        self.delay_ms = max(0, round(delay_ms))
        self.on_erle = on_erle
        self._near_pending = np.zeros(0, dtype=np.float32)
        self._far_pending = np.zeros(0, dtype=np.int16)
        self._far_t0 = (
            0.0  # when the first pending far-end sample is heard (timed mode)
        )
        self._timed = False
        self._far_resampler: StreamResampler | None = None
        self._far_rate = rate
        self._far_active_until = (
            -1.0
        )  # near-audio seconds until which the far end counts as active
        self._near_s = 0.0
        self._far_s = 0.0
        self._in_energy = 0.0
        self._out_energy = 0.0
        self._erle_samples = 0
        self.erle_db: float | None = None
        """The last ERLE reported (None before the far end has been active long enough)."""
        self.frames_processed = 0
        self.converged = False
        """Whether an ERLE window has reached CONVERGED_DB; until then the mic is held (silence)
        while the far end may be echoing, so the canceller's first leaks start no turn."""

    # --- the far end --------------------------------------------------------------------------

    def tap(self, stream: str, samples: np.ndarray, rate: int) -> None:
        """A session audio tap: the ``speaker`` stream is the far end."""
        if stream == "speaker":
            self.far(samples, rate)

    def far(
        self, samples: np.ndarray, rate: int, heard_at: float | None = None
    ) -> None:
        """Far-end audio (float32 mono at ``rate``) as it was sent to the output device;
        ``heard_at`` is when its first sample is heard (PortAudio's DAC time), if known."""
        if rate != self.rate:
            if self._far_resampler is None or self._far_rate != rate:
                # soxr's HQ filter hands its output over in bursts up to 40 ms late, which can
                # put the reference behind its own echo; LQ keeps it within about a millisecond.
                self._far_resampler = StreamResampler(rate, self.rate, quality="LQ")
                self._far_rate = rate
            samples = self._far_resampler.process(samples)
        if samples.size == 0:
            return
        pcm = _to_pcm16(samples)
        if pcm.size and float(np.max(np.abs(pcm))) > 32767.0 * 10 ** (
            FAR_ACTIVE_DBFS / 20
        ):
            # The far end is audible: its echo may arrive for up to delay + FAR_HOLD_S.
            self._far_active_until = (
                self._near_s + pcm.size / self.rate + self.delay_ms / 1000 + FAR_HOLD_S
            )
        if heard_at is not None:
            # Timed: the pending samples end where this block starts.
            self._far_t0 = heard_at - self._far_pending.size / self.rate
            self._timed = True
        self._far_pending = (
            np.concatenate([self._far_pending, pcm]) if self._far_pending.size else pcm
        )

    # --- the mic ------------------------------------------------------------------------------

    def near(self, samples: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        """Mic audio in (float32 mono at ``rate``), the processed audio out (whole frames).

        ``captured_at`` is when its first sample was captured (PortAudio's ADC time, the clock
        of the far end's ``heard_at``): with both, far-end frames are fed by time, else one per
        mic frame."""
        pending = (
            np.concatenate([self._near_pending, samples])
            if self._near_pending.size
            else samples
        )
        n = self.frame
        whole = pending.size // n * n
        out = np.empty(whole, dtype=np.float32)
        first_t = (
            None
            if captured_at is None
            else captured_at - self._near_pending.size / self.rate
        )
        for start in range(0, whole, n):
            pcm = _to_pcm16(pending[start : start + n])
            frame = self._frame_type(bytearray(pcm.tobytes()), self.rate, 1, n)
            if self.echo:
                if self._timed and first_t is not None:
                    self._feed_far_until(first_t + start / self.rate + FAR_LEAD_S)
                else:
                    self._feed_far()
            self._apm.process_stream(frame)
            processed = np.frombuffer(frame.data, dtype=np.int16)
            self._measure(pcm, processed)
            if (
                self.echo
                and not self.converged
                and self._near_s <= self._far_active_until
            ):
                # Until AEC3 has converged once, its leak would start turns: hold the mic.
                out[start : start + n] = 0.0
            else:
                out[start : start + n] = processed.astype(np.float32) / 32768.0
        self._near_pending = pending[whole:].copy()
        self.frames_processed += whole // n
        return out

    def _feed_far(self) -> None:
        """One far-end frame per mic frame, in lock-step (AEC3 wants the two interleaved; a
        resampler or a late loop hands the far end over in bursts). A far end that runs ahead by
        more than FAR_BACKLOG_S is caught up at once."""
        n = self.frame
        frames = self._far_pending.size // n
        take = 1 if frames <= FAR_BACKLOG_S * 100 else frames
        take = min(take, frames)
        for k in range(take):
            chunk = self._far_pending[k * n : (k + 1) * n]
            self._apm.process_reverse_stream(
                self._frame_type(chunk.tobytes(), self.rate, 1, n)
            )
        self._far_pending = self._far_pending[take * n :]
        # Far-end audio that waited here is that much closer to being heard.
        waited_ms = 1000.0 * self._far_pending.size / self.rate
        self._apm.set_stream_delay_ms(max(0, round(self.delay_ms - waited_ms)))

    def _feed_far_until(self, t: float) -> None:
        """Feed every far-end frame heard before ``t`` (each frame goes in just before the mic
        frame that holds its echo; the delay hint is the lead)."""
        n = self.frame
        frames = self._far_pending.size // n
        ready = max(0, min(frames, int((t - self._far_t0) * self.rate) // n))
        for k in range(ready):
            chunk = self._far_pending[k * n : (k + 1) * n]
            self._apm.process_reverse_stream(
                self._frame_type(chunk.tobytes(), self.rate, 1, n)
            )
        self._far_pending = self._far_pending[ready * n :]
        self._far_t0 += ready * n / self.rate
        self._apm.set_stream_delay_ms(round(FAR_LEAD_S * 1000))

    def _measure(self, raw: np.ndarray, processed: np.ndarray) -> None:
        n = raw.size
        self._near_s += n / self.rate
        if not self.echo or self._near_s > self._far_active_until:
            return
        self._in_energy += float(np.dot(raw.astype(np.float64), raw))
        self._out_energy += float(np.dot(processed.astype(np.float64), processed))
        self._erle_samples += n
        if self._erle_samples >= ERLE_WINDOW_S * self.rate:
            erle = erle_db(self._in_energy, self._out_energy)
            self._in_energy = self._out_energy = 0.0
            self._erle_samples = 0
            if erle is not None:
                self.erle_db = erle
                self.converged = self.converged or erle >= CONVERGED_DB
                if self.on_erle is not None:
                    self.on_erle(erle)


def erle_db(in_energy: float, out_energy: float) -> float | None:
    """Echo return loss enhancement, ``10 log10(in / out)``; None when the input was silent."""
    if in_energy <= 1.0:
        return None
    return round(10.0 * math.log10(in_energy / max(out_energy, 1.0)), 1)


__all__ = [
    "ERLE_WINDOW_S",
    "INSTALL_HINT",
    "SUPPORTED_RATES",
    "AecUnavailableError",
    "EchoCanceller",
    "erle_db",
    "load_apm",
]
