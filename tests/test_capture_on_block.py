"""The capture worker's ``on_block`` tap, on a real (virtual) input device: it is called on
PortAudio's callback thread for every block kept, numbered in capture order, before the block
reaches ``blocks()``; without a tap, capture runs as before."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import numpy as np

from voiceconsole.audio import open_devices
from voiceconsole.config import Settings

BLOCKS = 25
WAIT_S = 60.0  # a guard against hangs, never a speed target


async def _take(source, count: int, on_yield: Callable[[], None] = lambda: None) -> list[np.ndarray]:
    """``count`` blocks from ``source`` (``on_yield()`` as each arrives), then close it."""
    blocks: list[np.ndarray] = []

    async def read() -> None:
        async for block in source.blocks():
            on_yield()
            blocks.append(block)
            if len(blocks) == count:
                return

    try:
        await asyncio.wait_for(read(), WAIT_S)
    finally:
        await source.close()
    return blocks


async def test_the_tap_numbers_every_block_in_order_on_the_callback_thread(virtual_audio: str) -> None:
    source = open_devices.open_input(Settings())
    seen: list[tuple[int, int]] = []
    tapped_when_yielded: list[int] = []
    source.on_block = lambda number: seen.append((number, threading.get_ident()))
    loop_thread = threading.get_ident()
    blocks = await _take(source, BLOCKS, lambda: tapped_when_yielded.append(len(seen)))
    numbers = [number for number, _ in seen]
    assert numbers == list(range(len(numbers)))
    assert len(numbers) >= BLOCKS
    assert {thread for _, thread in seen} != {loop_thread}
    # Block k had been tapped before blocks() yielded it.
    assert all(tapped > k for k, tapped in enumerate(tapped_when_yielded))
    assert all(block.shape == (source.blocksize,) for block in blocks)


async def test_without_a_tap_capture_is_unchanged(virtual_audio: str) -> None:
    source = open_devices.open_input(Settings())
    assert source.on_block is None
    blocks = await _take(source, 5)
    assert len(blocks) == 5 and all(block.dtype == np.float32 for block in blocks)
