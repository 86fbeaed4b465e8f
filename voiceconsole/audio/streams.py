"""The device workers, and opening them on a device.

:class:`DeviceSource` (capture, :mod:`voiceconsole.audio.capture_worker`) and
:class:`DeviceSink` (playback, :mod:`voiceconsole.audio.playback_worker`) share the stream
handling of :mod:`voiceconsole.audio.device_worker`. Callers take the workers from here.

The one-way chain is ``devices`` <- ``device_worker`` <- the two workers <- this module <-
:mod:`voiceconsole.audio.open_devices`. :func:`source_on` and :func:`sink_on` look the worker
classes up on this module when called, so a subclass put here (benchmarks/live.py times capture
callbacks that way) is the one opened.
"""

from __future__ import annotations

from voiceconsole.audio.capture_worker import DeviceSource
from voiceconsole.audio.devices import DeviceInfo
from voiceconsole.audio.playback_worker import DeviceSink


def source_on(device: DeviceInfo, block_ms: int) -> DeviceSource:
    """The capture worker on ``device`` (its stream opened now, started by ``blocks()``)."""
    return DeviceSource(device, block_ms)


def sink_on(device: DeviceInfo, block_ms: int) -> DeviceSink:
    """The playback worker on ``device`` (its stream opened now, started by ``start()``)."""
    return DeviceSink(device, block_ms)


__all__ = ["DeviceSink", "DeviceSource", "sink_on", "source_on"]
