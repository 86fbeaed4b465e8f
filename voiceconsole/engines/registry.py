"""Choosing and creating engines from settings (``auto``: Cartesia with a key, else offline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceconsole.errors import ConfigError

if TYPE_CHECKING:
    from voiceconsole.config import Settings
    from voiceconsole.engines.base import SttEngine, TtsEngine

STT_CHOICES = ("auto", "local", "cartesia-turns", "cartesia-whisper")
TTS_CHOICES = ("auto", "local", "cartesia")


def resolve_stt(settings: Settings) -> str:
    """The concrete STT engine name ``auto`` stands for."""
    if settings.stt not in STT_CHOICES:
        raise ConfigError(f"unknown STT engine {settings.stt!r}; choose one of {', '.join(STT_CHOICES)}")
    if settings.stt == "auto":
        return "cartesia-turns" if settings.api_key else "local"
    return settings.stt


def resolve_tts(settings: Settings) -> str:
    """The concrete TTS engine name ``auto`` stands for."""
    if settings.tts not in TTS_CHOICES:
        raise ConfigError(f"unknown TTS engine {settings.tts!r}; choose one of {', '.join(TTS_CHOICES)}")
    if settings.tts == "auto":
        return "cartesia" if settings.api_key else "local"
    return settings.tts


def _require_key(settings: Settings, engine: str) -> str:
    if not settings.api_key:
        raise ConfigError(
            f"--stt/--tts {engine} needs a Cartesia API key: pass --api-key, set CARTESIA_API_KEY, "
            f"or put api-key in the config file"
        )
    return settings.api_key


def create_stt(settings: Settings) -> SttEngine:
    """A new STT engine as the settings ask."""
    name = resolve_stt(settings)
    if name == "local":
        from voiceconsole.engines.local_stt import LocalSttEngine

        return LocalSttEngine(settings.turn_settings())
    _require_key(settings, name)
    from voiceconsole.engines.cartesia.factory import create_cartesia_stt

    return create_cartesia_stt(name, settings)


def create_tts(settings: Settings) -> TtsEngine:
    """A new TTS engine as the settings ask."""
    name = resolve_tts(settings)
    if name == "local":
        from voiceconsole.engines.local_tts import LocalTtsEngine

        return LocalTtsEngine()
    _require_key(settings, name)
    from voiceconsole.engines.cartesia.factory import create_cartesia_tts

    return create_cartesia_tts(settings)
