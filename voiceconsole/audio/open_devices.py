"""Opening the capture and playback workers on the devices the settings choose.

The one-way chain is ``devices`` (list, choose, load PortAudio) <- the worker modules <-
``streams`` <- this module (settings -> a chosen device -> a worker). Nothing here is imported
back by any of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceconsole.audio import streams
from voiceconsole.audio.devices import find_device
from voiceconsole.errors import ConfigError

if TYPE_CHECKING:
    from voiceconsole.config import Settings


def check_block_ms(block_ms: int) -> int:
    """A device block size that PortAudio and the meters can work with."""
    if not 5 <= int(block_ms) <= 500:
        raise ConfigError(f"--block-ms {block_ms}: use a block size from 5 to 500 ms (default 20)")
    return int(block_ms)


def open_input(settings: Settings) -> streams.DeviceSource:
    """The capture worker on the chosen input device (opened now, started by the session)."""
    block_ms = check_block_ms(settings.block_ms)
    device = find_device(settings.input_device, "input")
    return streams.source_on(device, block_ms)


def open_output(settings: Settings) -> streams.DeviceSink:
    """The playback worker on the chosen output device; DeviceError when none can be used."""
    block_ms = check_block_ms(settings.block_ms)
    device = find_device(settings.output_device, "output")
    return streams.sink_on(device, block_ms)


__all__ = ["check_block_ms", "open_input", "open_output"]
