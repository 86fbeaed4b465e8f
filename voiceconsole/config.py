"""Settings: one dataclass filled from the config file, the environment and the command line.

Precedence: command line > environment (``CARTESIA_API_KEY``, ``OPENAI_API_KEY``,
``OPENAI_BASE_URL``) > config file > defaults.
The config file is TOML (``$VOICECONSOLE_CONFIG`` or ``~/.config/voiceconsole/config.toml``)
with the same names as the long options, e.g. ``stt = "local"`` or ``end-ms = 700``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
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
    keyterm: list[str] | None = None
    min_volume: float | None = None
    max_silence_duration_secs: float | None = None
    tts_speed: float | None = None
    tts_volume: float | None = None
    tts_emotion: str | None = None
    pronunciation_dict_id: str | None = None
    turn_detector: str = "vad"
    smart_turn_threshold: float = 0.5
    llm_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str | None = field(default=None, repr=False)
    llm_system: str | None = None
    llm_temperature: float = 0.7
    llm_max_tokens: int = 300
    llm_timeout: float = 10.0
    speculate: str = "llm"
    barge_in: bool = True
    mute_while_speaking: bool = False
    aec: bool | None = None
    noise_suppression: bool = False
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
            turn_detector=self.turn_detector,
            smart_turn_threshold=self.smart_turn_threshold,
        )
        try:
            settings.validate()
        except ValueError as exc:
            raise ConfigError(f"bad turn settings: {exc}") from None
        return settings

    def public(self) -> dict[str, Any]:
        """Settings safe to log, record or show: the API key is replaced by whether one is set."""
        from voiceconsole import secrets

        data = dataclasses.asdict(self)
        data["api_key"] = "set" if self.api_key else None
        data["llm_api_key"] = "set" if self.llm_api_key else None
        for name, value in data.items():
            if isinstance(value, str) and secrets.holds_secret(name):
                data[name] = "set"
            elif isinstance(value, str) and name.endswith("_url"):
                data[name] = secrets.strip_credentials(value)  # stored without user info or keys
        return secrets.scrub_value(data)


SETTING_NAMES = {f.name for f in dataclasses.fields(Settings)}
_HINTS = typing.get_type_hints(Settings)


NO_HOME = Path("/nonexistent")
"""Stands for the home directory when there is none (Debian's conventional missing home)."""
_noted_no_home = False


def home_directory() -> Path:
    """``$HOME``, else the passwd entry's home; with neither, :data:`NO_HOME` and a one-time note
    on stderr saying where the config file would be (the console runs on its defaults)."""
    global _noted_no_home
    home = os.environ.get("HOME")
    if home:
        return Path(home)
    try:
        return Path.home()
    except (RuntimeError, KeyError, OSError):
        if not _noted_no_home:
            _noted_no_home = True
            import sys

            print(
                "voiceconsole: note: no home directory (HOME unset, no passwd entry): running on the defaults; "
                "a config file would be read from $VOICECONSOLE_CONFIG or $XDG_CONFIG_HOME/voiceconsole/config.toml",
                file=sys.stderr,
            )
        return NO_HOME


def default_config_path() -> Path:
    """Where the config file is looked for."""
    env = os.environ.get("VOICECONSOLE_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(home_directory() / ".config")
    return Path(base) / "voiceconsole" / "config.toml"


MAX_CONFIG_BYTES = 1024 * 1024


def load_config_file(path: Path, explicit: bool) -> dict[str, Any]:
    """Read a TOML config file into setting names; a missing default file is simply empty."""
    import tomllib

    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: config file not found; create it or drop --config")
        return {}
    try:
        if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: not a regular config file of at most {MAX_CONFIG_BYTES // 1024} KiB; fix it or move it away")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or move it away") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply; fix the file or move it away") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    values: dict[str, Any] = {}
    try:
        flat = _flatten(data)
    except RecursionError:
        raise ConfigError(f"{path}: sections nested too deeply; fix the file or move it away") from None
    for key, value in flat.items():
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


MAX_NUMBER = 10**9
"""Larger numbers are refused in every setting (no setting needs one; they overflow later)."""


def _field_types(name: str) -> tuple[tuple[Any, ...], bool]:
    """The types a setting takes (from the dataclass annotation) and whether None is allowed."""
    hint = _HINTS[name]
    args = (
        typing.get_args(hint)
        if typing.get_origin(hint) in (typing.Union, types.UnionType)
        else (hint,)
    )
    allowed = tuple(a for a in args if a is not type(None))
    return allowed or (object,), type(None) in args


def _fits(kind: Any, value: Any) -> bool:
    origin = typing.get_origin(kind)
    if origin in (list, tuple):
        item = (typing.get_args(kind) or (object,))[0]
        return isinstance(value, (list, tuple)) and all(_fits(item, v) for v in value)
    if kind is object or kind is Any:
        return True
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(kind, type) and isinstance(value, kind)


def _kind_name(kind: Any) -> str:
    if typing.get_origin(kind) in (list, tuple):
        return f"list of {_kind_name((typing.get_args(kind) or (object,))[0])}"
    return getattr(kind, "__name__", str(kind))


def check_value(name: str, value: Any, origin: str) -> Any:
    """``value`` if it fits setting ``name``'s declared type (an int is taken for a float), else
    :class:`ConfigError`; NaN, infinities and numbers above :data:`MAX_NUMBER` are refused."""
    allowed, nullable = _field_types(name)
    key = (
        f"{origin}: {name.replace('_', '-')}"
        if origin
        else "--" + name.replace("_", "-")
    )
    if value is None:
        if nullable:
            return None
        raise ConfigError(f"{key} needs a value")
    if not any(_fits(kind, value) for kind in allowed):
        names = " or ".join(_kind_name(k) for k in allowed)
        shown = repr(value) if len(repr(value)) <= 40 else f"a {type(value).__name__}"
        raise ConfigError(f"{key} must be a {names}, not {shown}")
    for number in value if isinstance(value, (list, tuple)) else (value,):
        if isinstance(number, float) and not math.isfinite(number):
            raise ConfigError(f"{key} must be a finite number, not {number}")
        if (
            isinstance(number, (int, float))
            and not isinstance(number, bool)
            and abs(number) > MAX_NUMBER
        ):
            raise ConfigError(f"{key} = {number:.3g} is too large")
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and float in allowed
        and int not in allowed
    ):
        return float(value)
    return value


def apply_values(settings: Settings, values: dict[str, Any], origin: str) -> None:
    """Set fields from a dict, checking each value against the field's declared type."""
    for name, value in values.items():
        setattr(settings, name, check_value(name, value, origin))


def check_types(settings: Settings, origin: str = "") -> None:
    """Check every field of ``settings`` (command line included: ``--max-turn-s nan`` parses)."""
    for name in SETTING_NAMES:
        check_value(name, getattr(settings, name), origin)


def update_config_file(path: Path, values: dict[str, Any]) -> None:
    """Set ``values`` (setting names, e.g. ``end_ms``) in the TOML config file at ``path``,
    keeping every other key, comment and section as it was; a missing file is created.

    A key already in the file (at the top or in a section) is rewritten where it stands; a new
    key goes at the top, before the first section. The new text is parsed back before it is
    written (atomically, through a temporary file), so a failed save leaves the file unchanged.
    Raises :class:`ConfigError` (one line) for an unreadable, invalid or unwritable file.
    """
    import contextlib
    import re

    import tomllib

    for name, value in values.items():
        if name not in SETTING_NAMES or name in ("config_path", "api_key"):
            raise ConfigError(f"{name.replace('_', '-')}: not a setting the config file may hold")
        if not isinstance(value, (bool, int, float, str)):
            raise ConfigError(f"{name.replace('_', '-')}: cannot save a {type(value).__name__}")
    load_config_file(path, explicit=False)  # an invalid existing file is reported, not overwritten
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc})") from None
    lines = text.splitlines()
    new_keys: list[str] = []
    for name, value in values.items():
        key = name.replace("_", "-")
        line = f"{key} = {_toml_value(value)}"
        pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
        found = False
        for i, old in enumerate(lines):
            if pattern.match(old):
                lines[i] = line
                found = True
        if not found:
            new_keys.append(line)
    first_table = next((i for i, old in enumerate(lines) if old.lstrip().startswith("[")), len(lines))
    lines[first_table:first_table] = new_keys
    new_text = "\n".join(lines) + "\n"
    try:
        written = _flatten(tomllib.loads(new_text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: could not update the config file safely ({exc}); edit it by hand") from None
    for name, value in values.items():
        if written.get(name.replace("_", "-")) != value:
            raise ConfigError(f"{path}: could not update {name.replace('_', '-')} safely; edit the file by hand")
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(new_text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write config ({exc.strerror or exc})") from None


def _toml_value(value: bool | float | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
