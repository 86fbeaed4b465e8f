"""Settings: one dataclass filled from the config file, the environment and the command line.

Precedence: command line > environment (``CARTESIA_API_KEY``) > config file > defaults.
The config file is TOML (``$VOICECONSOLE_CONFIG`` or ``~/.config/voiceconsole/config.toml``)
with the same names as the long options, e.g. ``stt = "local"`` or ``end-ms = 700``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceconsole.errors import ConfigError

DEFAULT_STT_URL = "wss://api.cartesia.ai"
DEFAULT_TTS_URL = "wss://api.cartesia.ai"


@dataclass
class Settings:
    """Everything a session needs to be built. Never printed whole: it may hold the API key."""

    mic: str | None = None
    speaker: str | None = None
    input_device: str | None = None
    output_device: str | None = None
    fast: bool = False
    events: str | None = None
    record: str | None = None
    responder: str = "echo"
    stt: str = "auto"
    tts: str = "auto"
    api_key: str | None = field(default=None, repr=False)
    stt_url: str = DEFAULT_STT_URL
    tts_url: str = DEFAULT_TTS_URL
    stt_model: str | None = None
    tts_model: str = "sonic-3"
    language: str = "en"
    voice: str | None = None
    stt_encoding: str = "pcm_s16le"
    stt_sample_rate: int = 16000
    tts_sample_rate: int = 24000
    block_ms: int = 20
    turn_start_ms: int = 160
    eager_end_ms: int = 200
    end_ms: int = 800
    max_turn_s: float = 30.0
    vad_threshold: float = 0.5
    turn_start_threshold: float = 0.8
    turn_eager_end_threshold: float = 0.4
    turn_end_threshold: float = 0.2
    turn_end_timeout_ms: int = 5600
    barge_in: bool = True
    mute_while_speaking: bool = False
    theme: str = "dark"
    no_ui: bool = False
    config_path: str | None = None

    def turn_settings(self) -> Any:
        """The :class:`~voiceconsole.engines.base.TurnSettings` these settings describe (validated)."""
        from voiceconsole.engines.base import TurnSettings

        settings = TurnSettings(
            start_speech_ms=self.turn_start_ms,
            eager_end_silence_ms=self.eager_end_ms,
            end_silence_ms=self.end_ms,
            max_turn_s=self.max_turn_s,
            vad_threshold=self.vad_threshold,
            start_threshold=self.turn_start_threshold,
            eager_end_threshold=self.turn_eager_end_threshold,
            end_threshold=self.turn_end_threshold,
            end_timeout_ms=self.turn_end_timeout_ms,
        )
        try:
            settings.validate()
        except ValueError as exc:
            raise ConfigError(f"bad turn settings: {exc}") from None
        return settings

    def public(self) -> dict[str, Any]:
        """Settings safe to log, record or show: the API key is replaced by whether one is set."""
        data = dataclasses.asdict(self)
        data["api_key"] = "set" if self.api_key else None
        return data


SETTING_NAMES = {f.name for f in dataclasses.fields(Settings)}


def default_config_path() -> Path:
    """Where the config file is looked for."""
    env = os.environ.get("VOICECONSOLE_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "voiceconsole" / "config.toml"


def load_config_file(path: Path, explicit: bool) -> dict[str, Any]:
    """Read a TOML config file into setting names; a missing default file is simply empty."""
    import tomllib

    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: config file not found; create it or drop --config")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or move it away") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    values: dict[str, Any] = {}
    for key, value in _flatten(data).items():
        name = key.replace("-", "_")
        if name not in SETTING_NAMES or name == "config_path":
            raise ConfigError(f"{path}: unknown setting {key!r}; see `voiceconsole --help` for the names")
        values[name] = value
    return values


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    # [cartesia] api-key = "..." is accepted as api-key; sections are only for grouping.
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value))
        else:
            out[key] = value
    return out


def apply_values(settings: Settings, values: dict[str, Any], origin: str) -> None:
    """Set fields from a dict, checking each value's type against the default's."""
    defaults = Settings()
    for name, value in values.items():
        expected = type(getattr(defaults, name))
        if getattr(defaults, name) is None or isinstance(value, expected) or (expected is float and isinstance(value, int)):
            setattr(settings, name, value)
        else:
            raise ConfigError(f"{origin}: {name.replace('_', '-')} must be a {expected.__name__}, not {value!r}")
