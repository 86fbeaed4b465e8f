"""The tuning panel's fields, presets and config-file round trip (no Textual: the panel in
:mod:`voiceconsole.ui.tuning` draws them).

Which fields the panel shows depends on the engine named in ``session.start`` and its settings:
Ink-2's thresholds for ``cartesia-turns``, the local VAD rule's durations and threshold for every
other engine, plus the Smart Turn threshold when Smart Turn is the turn detector. Values are
parsed and refused with :meth:`TurnSettings.validate`'s reason; save and load use the config
file's long option names (``end-ms = 400``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceconsole.config import (
    Settings,
    apply_values,
    default_config_path,
    load_config_file,
    update_config_file,
)
from voiceconsole.engines.base import TurnSettings
from voiceconsole.errors import ConfigError

INK2_ENGINE = "cartesia-turns"
"""The engine whose turn detection runs on Cartesia's server (thresholds, not durations)."""


@dataclass(frozen=True)
class TuningField:
    """One editable turn setting."""

    setting: str
    """The :class:`TurnSettings` attribute."""
    option: str
    """The :class:`~voiceconsole.config.Settings` field (config key with ``-`` for ``_``)."""
    label: str
    kind: type
    """``int`` or ``float``."""
    hint: str
    """What it does, shown next to the field."""

    @property
    def key(self) -> str:
        """The config file's key (the long option name), e.g. ``end-ms``."""
        return self.option.replace("_", "-")


LOCAL_FIELDS: tuple[TuningField, ...] = (
    TuningField(
        "start_speech_ms", "turn_start_ms", "start ms", int, "speech before turn.start"
    ),
    TuningField(
        "eager_end_silence_ms",
        "eager_end_ms",
        "eager ms",
        int,
        "silence before turn.eager_end",
    ),
    TuningField("end_silence_ms", "end_ms", "end ms", int, "silence before turn.end"),
    TuningField(
        "vad_threshold",
        "vad_threshold",
        "VAD threshold",
        float,
        "speech probability (0-1)",
    ),
)
"""The local VAD rule's settings (``local`` and ``cartesia-whisper``)."""

SMART_TURN_FIELDS: tuple[TuningField, ...] = (
    TuningField(
        "smart_turn_threshold",
        "smart_turn_threshold",
        "Smart Turn threshold",
        float,
        "P(complete) that ends a turn (0-1)",
    ),
)
"""Shown after :data:`LOCAL_FIELDS` when Smart Turn is the turn detector."""

INK2_FIELDS: tuple[TuningField, ...] = (
    TuningField(
        "start_threshold", "turn_start_threshold", "start threshold", float, "0.5-0.9"
    ),
    TuningField(
        "eager_end_threshold",
        "turn_eager_end_threshold",
        "eager end threshold",
        float,
        "0.3-0.6",
    ),
    TuningField(
        "end_threshold",
        "turn_end_threshold",
        "end threshold",
        float,
        "0.05-0.5, end < eager < start",
    ),
    TuningField(
        "end_timeout_ms", "turn_end_timeout_ms", "end timeout ms", int, "640-11200"
    ),
)
"""Cartesia Ink-2's turn settings."""


def fields_for(
    stt: str, settings: TurnSettings | None = None
) -> tuple[TuningField, ...]:
    """The fields the panel shows for the STT engine named ``stt`` running ``settings``."""
    if stt == INK2_ENGINE:
        return INK2_FIELDS
    if settings is not None and settings.turn_detector == "smart-turn":
        return LOCAL_FIELDS + SMART_TURN_FIELDS
    return LOCAL_FIELDS


@dataclass(frozen=True)
class Preset:
    """Named turn timings for both kinds of engine (the VAD threshold is left alone: it depends
    on the room's noise, not on how patient the agent should be)."""

    name: str
    description: str
    values: dict[str, Any]
    """TurnSettings attributes to set."""

    def apply(self, settings: TurnSettings) -> TurnSettings:
        """``settings`` with this preset's values (validated)."""
        return settings.replace(**self.values)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "fast",
            "answers quickly; may cut a slow speaker off",
            {
                "start_speech_ms": 100,
                "eager_end_silence_ms": 120,
                "end_silence_ms": 400,
                "start_threshold": 0.7,
                "eager_end_threshold": 0.5,
                "end_threshold": 0.35,
                "end_timeout_ms": 2400,
            },
        ),
        Preset(
            "balanced",
            "the defaults",
            {
                "start_speech_ms": 160,
                "eager_end_silence_ms": 200,
                "end_silence_ms": 800,
                "start_threshold": 0.8,
                "eager_end_threshold": 0.4,
                "end_threshold": 0.2,
                "end_timeout_ms": 5600,
            },
        ),
        Preset(
            "patient",
            "waits through long pauses; slower to answer",
            {
                "start_speech_ms": 240,
                "eager_end_silence_ms": 400,
                "end_silence_ms": 1400,
                "start_threshold": 0.85,
                "eager_end_threshold": 0.3,
                "end_threshold": 0.1,
                "end_timeout_ms": 8000,
            },
        ),
    )
}
"""The named presets: fast, balanced (the defaults) and patient.

Ink-2's thresholds are read as the server's documentation orders them (end < eager end < start):
a turn ends when the server's speaking likelihood falls below the end threshold, so a higher
end threshold ends sooner (fast) and a lower one waits (patient)."""


def settings_from_dict(data: dict[str, Any] | None) -> TurnSettings:
    """TurnSettings from a ``turn.config`` event's or ``session.start``'s dict (unknown keys ignored)."""
    known = {f.name for f in dataclasses.fields(TurnSettings)}
    return TurnSettings(**{k: v for k, v in (data or {}).items() if k in known})


def parse_fields(
    base: TurnSettings, texts: dict[str, str], fields: tuple[TuningField, ...]
) -> TurnSettings:
    """``base`` with the typed ``texts`` (by setting name) for ``fields``; raises ``ValueError``
    with a one-line reason for a value that does not parse or that the settings refuse."""
    changes: dict[str, Any] = {}
    for spec in fields:
        text = texts.get(spec.setting, "").strip()
        try:
            changes[spec.setting] = int(text) if spec.kind is int else float(text)
        except ValueError:
            kind = "a whole number" if spec.kind is int else "a number"
            raise ValueError(f"{spec.label}: {text!r} is not {kind}") from None
    return base.replace(**changes)


def config_path_for(settings: object) -> Path:
    """The config file the panel saves to: the settings' ``config_path`` (``--config``) when it
    has one, else the default (``$VOICECONSOLE_CONFIG`` or ``~/.config/voiceconsole/config.toml``)."""
    chosen = getattr(settings, "config_path", None)
    return Path(chosen) if chosen else default_config_path()


def save_tuning(
    path: Path, settings: TurnSettings, fields: tuple[TuningField, ...]
) -> None:
    """Write ``fields`` of ``settings`` to the config file (other keys kept); raises ``ConfigError``."""
    update_config_file(
        path, {spec.option: getattr(settings, spec.setting) for spec in fields}
    )


def load_tuning(path: Path, base: TurnSettings) -> TurnSettings:
    """``base`` with the turn settings found in the config file; raises ``ConfigError`` for a
    missing, invalid or out-of-range file."""
    values = load_config_file(path, explicit=True)
    specs = {
        spec.option: spec for spec in LOCAL_FIELDS + SMART_TURN_FIELDS + INK2_FIELDS
    }
    found = {name: value for name, value in values.items() if name in specs}
    if not found:
        raise ConfigError(f"{path}: no turn settings in it (save some first)")
    holder = Settings()
    apply_values(holder, found, str(path))
    try:
        return base.replace(
            **{specs[name].setting: getattr(holder, name) for name in found}
        )
    except ValueError as exc:
        raise ConfigError(f"{path}: bad turn settings: {exc}") from None


__all__ = [
    "INK2_ENGINE",
    "INK2_FIELDS",
    "LOCAL_FIELDS",
    "PRESETS",
    "SMART_TURN_FIELDS",
    "Preset",
    "TuningField",
    "config_path_for",
    "fields_for",
    "load_tuning",
    "parse_fields",
    "save_tuning",
    "settings_from_dict",
]
