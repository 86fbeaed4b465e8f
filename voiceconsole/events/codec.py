"""Events to and from one line of JSON each."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from voiceconsole.events.base import EVENT_TYPES, Event, WordTiming


def to_dict(event: Event) -> dict[str, Any]:
    """The event as a JSON-ready dict with ``type`` first."""
    out: dict[str, Any] = {"type": event.TYPE}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, tuple):
            value = [
                dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
                for v in value
            ]
        out[f.name] = value
    return out


def to_json(event: Event) -> str:
    """One line of JSON, no newline."""
    return json.dumps(
        to_dict(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


class EventDecodeError(ValueError):
    """A line that is not a valid voiceconsole event."""


def _field_types(cls: type[Event]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


_HINTS_CACHE: dict[type[Event], dict[str, Any]] = {}


def from_dict(data: dict[str, Any]) -> Event:
    """Build an event from a dict made by :func:`to_dict` (unknown keys are ignored)."""
    if not isinstance(data, dict):
        raise EventDecodeError("event is not a JSON object")
    type_name = data.get("type")
    cls = EVENT_TYPES.get(type_name)  # type: ignore[arg-type]
    if cls is None:
        raise EventDecodeError(f"unknown event type {type_name!r}")
    hints = _HINTS_CACHE.get(cls)
    if hints is None:
        hints = _HINTS_CACHE[cls] = _field_types(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        hint = hints.get(f.name)
        if typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            item = args[0] if args else Any
            if item is WordTiming:
                value = tuple(
                    WordTiming(**w) if isinstance(w, dict) else WordTiming(*w)
                    for w in value
                )
            else:
                value = tuple(value)
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise EventDecodeError(f"bad fields for {type_name}: {exc}") from None


def from_json(line: str) -> Event:
    """Parse one JSON line written by :func:`to_json`."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventDecodeError(f"not JSON: {exc.msg}") from None
    return from_dict(data)
