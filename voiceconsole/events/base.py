"""The base of every event: :class:`Event`, :class:`WordTiming` and the registry of wire names.

A subclass with a ``TYPE`` registers itself when it is defined, so a module of events only
has to be imported (:mod:`voiceconsole.events` imports them all) for :func:`~voiceconsole.events.codec.from_dict`
to know it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

EngineRole = Literal["stt", "tts", "responder", "audio"]
ConnectionState = Literal["connecting", "connected", "reconnecting", "closed", "failed"]
LevelSource = Literal["mic", "mic_raw", "speaker"]
"""``mic_raw``: the microphone before echo cancellation (only while it runs)."""

EVENT_TYPES: dict[str, type[Event]] = {}
"""Every event class by its wire name."""


@dataclass(frozen=True)
class WordTiming:
    """A word with its start and end in seconds (relative to what the event says)."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Event:
    """Base of every event. Subclasses set ``TYPE`` to their wire name."""

    TYPE: ClassVar[str] = ""
    t: float
    audio_t: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("TYPE", "")
        if name:
            known = EVENT_TYPES.get(name)
            # A class of the same module and name is the same event re-defined (a reload).
            if known is not None and (known.__module__, known.__qualname__) != (
                cls.__module__,
                cls.__qualname__,
            ):
                raise RuntimeError(f"duplicate event type {name}")
            EVENT_TYPES[name] = cls

    @property
    def type(self) -> str:
        """The event's wire name, e.g. ``turn.end``."""
        return self.TYPE
