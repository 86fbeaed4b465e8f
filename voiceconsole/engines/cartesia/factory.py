"""Building the Cartesia engines from :class:`~voiceconsole.config.Settings`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from voiceconsole.engines.cartesia.endpoints import language_code
from voiceconsole.engines.cartesia.protocol import check_stt_encoding
from voiceconsole.errors import ConfigError
from voiceconsole.secrets import check_key

if TYPE_CHECKING:
    from voiceconsole.config import Settings
    from voiceconsole.engines.base import SttEngine, TtsEngine

DEFAULT_TURNS_MODEL = "ink-2"
DEFAULT_WHISPER_MODEL = "ink-whisper"
MAX_KEYTERMS = 100


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
    language = language_code(settings.language)
    keyterms = tuple(_keyterms(settings.keyterm))
    if name == "cartesia-turns":
        if language and language != "en":
            raise ConfigError(
                f"Ink-2 turns is English only (--language {settings.language}); use --stt cartesia-whisper for other languages"
            )
        from voiceconsole.engines.cartesia.stt_turns import CartesiaTurnsStt

        turns = CartesiaTurnsStt(
            api_key=key,
            base_url=settings.stt_url,
            model=settings.stt_model or DEFAULT_TURNS_MODEL,
            encoding=settings.stt_encoding,
            sample_rate=settings.stt_sample_rate,
            turn_settings=turn,
        )
        turns.keyterms = keyterms
        turns.explicit_turn = explicit_turn_settings(settings)
        return turns
    if name == "cartesia-whisper":
        from voiceconsole.engines.cartesia.stt_whisper import CartesiaWhisperStt

        whisper = CartesiaWhisperStt(
            api_key=key,
            base_url=settings.stt_url,
            model=settings.stt_model or DEFAULT_WHISPER_MODEL,
            language=language,
            encoding=settings.stt_encoding,
            sample_rate=settings.stt_sample_rate,
            turn_settings=turn,
        )
        whisper.keyterms = keyterms
        whisper.min_volume = _non_negative(settings.min_volume, "--min-volume")
        whisper.max_silence_duration_secs = _positive(settings.max_silence_duration_secs, "--max-silence-duration-secs")
        return whisper
    raise ConfigError(f"unknown Cartesia STT engine {name!r}; choose cartesia-turns or cartesia-whisper")


def create_cartesia_tts(settings: Settings) -> TtsEngine:
    """Sonic TTS over the TTS websocket."""
    from voiceconsole.engines.cartesia.tts import CartesiaTts

    engine = CartesiaTts(
        api_key=_key(settings),
        base_url=settings.tts_url,
        model=settings.tts_model,
        voice=settings.voice,
        language=language_code(settings.language),
        sample_rate=settings.tts_sample_rate,
    )
    generation: list[tuple[str, float | str]] = []
    if settings.tts_speed is not None:
        generation.append(("speed", _positive(settings.tts_speed, "--tts-speed")))
    if settings.tts_volume is not None:
        generation.append(("volume", _positive(settings.tts_volume, "--tts-volume")))
    if settings.tts_emotion:
        generation.append(("emotion", settings.tts_emotion))
    engine.format = dataclasses.replace(
        engine.format, generation_config=tuple(generation), pronunciation_dict_id=settings.pronunciation_dict_id or None
    )
    return engine


TURN_SETTING_NAMES = ("turn_start_threshold", "turn_eager_end_threshold", "turn_end_threshold", "turn_end_timeout_ms")


def explicit_turn_settings(settings: Settings) -> frozenset[str]:
    """The Ink-2 tunings the user set. A value still at the console's default counts as not set:
    it is not sent, and the server's own default applies (sources disagree on those)."""
    from voiceconsole.config import Settings as Defaults

    defaults = Defaults()
    return frozenset(name for name in TURN_SETTING_NAMES if getattr(settings, name) != getattr(defaults, name))


def _keyterms(terms: list[str] | None) -> list[str]:
    out = [t.strip() for t in terms or [] if t.strip()]
    if len(out) > MAX_KEYTERMS:
        raise ConfigError(f"--keyterm given {len(out)} times; Cartesia takes at most about {MAX_KEYTERMS}")
    return out


def _positive(value: float | None, option: str) -> float | None:
    if value is not None and value <= 0:
        raise ConfigError(f"{option} {value}: must be a positive number")
    return value


def _non_negative(value: float | None, option: str) -> float | None:
    if value is not None and value < 0:
        raise ConfigError(f"{option} {value}: must not be negative")
    return value
