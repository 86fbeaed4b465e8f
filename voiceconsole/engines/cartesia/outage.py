"""The bounded buffer holding mic audio while an STT connection is down.

Policy: audio sent during an outage is kept, up to ``max_bytes`` (the newest audio wins: when
full, the oldest is dropped and counted), and replayed in order as soon as the connection is
back, before any new audio. So a short outage loses nothing and a long one loses its oldest
part, which the engine reports as a warning.
"""

from __future__ import annotations

from collections import deque


class OutageBuffer:
    """FIFO of audio frames (bytes) bounded by total size; overflow drops the oldest."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.max_bytes = max_bytes
        self._frames: deque[bytes] = deque()
        self._size = 0
        self.dropped_bytes = 0
        """Bytes dropped since the last :meth:`take_all` (oldest first)."""

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size

    def push(self, frame: bytes) -> int:
        """Keep ``frame``; returns how many bytes were dropped to make room."""
        dropped = 0
        if len(frame) > self.max_bytes:
            dropped += len(frame) - self.max_bytes
            frame = frame[len(frame) - self.max_bytes :]
        while self._frames and self._size + len(frame) > self.max_bytes:
            old = self._frames.popleft()
            self._size -= len(old)
            dropped += len(old)
        if frame:
            self._frames.append(frame)
            self._size += len(frame)
        self.dropped_bytes += dropped
        return dropped

    def take_all(self) -> tuple[list[bytes], int]:
        """Everything held, oldest first, and the bytes dropped; the buffer is emptied."""
        frames = list(self._frames)
        dropped = self.dropped_bytes
        self._frames.clear()
        self._size = 0
        self.dropped_bytes = 0
        return frames, dropped

    def push_front(self, frames: list[bytes]) -> None:
        """Put frames that could not be replayed back at the head, in order."""
        for frame in reversed(frames):
            self._frames.appendleft(frame)
            self._size += len(frame)
