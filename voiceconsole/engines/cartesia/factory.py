"""Building the Cartesia engines from :class:`~voiceconsole.config.Settings`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceconsole.engines.cartesia.protocol import check_stt_encoding
from voiceconsole.errors import ConfigError
from voiceconsole.secrets import check_key

if TYPE_CHECKING:
    from voiceconsole.config import Settings
    from voiceconsole.engines.base import SttEngine, TtsEngine

DEFAULT_TURNS_MODEL = "ink-2"
DEFAULT_WHISPER_MODEL = "ink-whisper"


def _key(settings: Settings) -> str:
    if not settings.api_key:
        raise ConfigError("Cartesia engines need an API key: pass --api-key, set CARTESIA_API_KEY, or put api-key in the config file")
    return check_key(settings.api_key)


def create_cartesia_stt(name: str, settings: Settings) -> SttEngine:
    """``cartesia-turns`` (Ink-2) or ``cartesia-whisper`` (ink-whisper with a local VAD)."""
    key = _key(settings)
    check_stt_encoding(settings.stt_encoding)
    if settings.stt_sample_rate < 8000 or settings.stt_sample_rate > 48000:
        raise ConfigError(f"--stt-sample-rate {settings.stt_sample_rate} is out of range; use 8000-48000 (16000 recommended)")
    turn = settings.turn_settings()
    if name == "cartesia-turns":
        if settings.language and settings.language.lower() not in ("en", "en-us", "en-gb"):
            raise ConfigError(
                f"Ink-2 turns is English only (--language {settings.language}); use --stt cartesia-whisper for other languages"
            )
        from voiceconsole.engines.cartesia.stt_turns import CartesiaTurnsStt

        return CartesiaTurnsStt(
            api_key=key,
            base_url=settings.stt_url,
            model=settings.stt_model or DEFAULT_TURNS_MODEL,
            encoding=settings.stt_encoding,
            sample_rate=settings.stt_sample_rate,
            turn_settings=turn,
        )
    if name == "cartesia-whisper":
        from voiceconsole.engines.cartesia.stt_whisper import CartesiaWhisperStt

        return CartesiaWhisperStt(
            api_key=key,
            base_url=settings.stt_url,
            model=settings.stt_model or DEFAULT_WHISPER_MODEL,
            language=settings.language,
            encoding=settings.stt_encoding,
            sample_rate=settings.stt_sample_rate,
            turn_settings=turn,
        )
    raise ConfigError(f"unknown Cartesia STT engine {name!r}; choose cartesia-turns or cartesia-whisper")


def create_cartesia_tts(settings: Settings) -> TtsEngine:
    """Sonic TTS over the TTS websocket."""
    from voiceconsole.engines.cartesia.tts import CartesiaTts

    return CartesiaTts(
        api_key=_key(settings),
        base_url=settings.tts_url,
        model=settings.tts_model,
        voice=settings.voice,
        language=settings.language,
        sample_rate=settings.tts_sample_rate,
    )
