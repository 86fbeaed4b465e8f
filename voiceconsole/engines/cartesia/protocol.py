"""Cartesia's websocket protocols, sans I/O: pure functions from values to frames and back.

Nothing here touches a socket or a clock. Requests are built in the current form; server
messages are parsed leniently (see :mod:`.messages`). This module gathers the pieces, each
in its own module:

- :mod:`.endpoints`: endpoint URLs, the API version and auth headers;
- :mod:`.audio_format`: samples to and from the wire encodings;
- :mod:`.messages`: the decoded server message types and the parsing they share;
- :mod:`.turns_messages`, :mod:`.whisper_messages`, :mod:`.tts_messages`: one endpoint each;
- :mod:`.retry`: close codes, upgrade statuses and backoff.
"""

from __future__ import annotations

from voiceconsole.engines.cartesia.audio_format import (
    STT_ENCODINGS,
    bytes_per_sample,
    check_stt_encoding,
    decode_audio,
    encode_audio,
    pcm16_to_float,
)
from voiceconsole.engines.cartesia.endpoints import (
    API_VERSION,
    auth_headers,
    endpoint_url,
    safe_url,
)
from voiceconsole.engines.cartesia.messages import (
    AudioChunk,
    Connected,
    Done,
    ErrorMessage,
    FlushDone,
    ServerMessage,
    Timestamps,
    Transcript,
    TurnMessage,
    Unknown,
    decode_error,
    parse_words,
)
from voiceconsole.engines.cartesia.retry import (
    FATAL_CLOSE_CODES,
    RETRYABLE_CLOSE_CODES,
    RetryPolicy,
    backoff_delay,
    close_disposition,
    status_disposition,
)
from voiceconsole.engines.cartesia.tts_messages import (
    DEFAULT_VOICE,
    TTS_PATH,
    TTS_SAMPLE_RATES,
    TtsFormat,
    decode_tts_message,
    split_text,
    tts_cancel,
    tts_request,
)
from voiceconsole.engines.cartesia.turns_messages import (
    TURNS_PATH,
    decode_turns_message,
    turns_close_command,
    turns_config_command,
    turns_query,
)
from voiceconsole.engines.cartesia.whisper_messages import (
    WHISPER_CLOSE,
    WHISPER_FINALIZE,
    WHISPER_PATH,
    decode_whisper_message,
    whisper_query,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_VOICE",
    "FATAL_CLOSE_CODES",
    "RETRYABLE_CLOSE_CODES",
    "STT_ENCODINGS",
    "TTS_PATH",
    "TTS_SAMPLE_RATES",
    "TURNS_PATH",
    "WHISPER_CLOSE",
    "WHISPER_FINALIZE",
    "WHISPER_PATH",
    "AudioChunk",
    "Connected",
    "Done",
    "ErrorMessage",
    "FlushDone",
    "RetryPolicy",
    "ServerMessage",
    "Timestamps",
    "Transcript",
    "TtsFormat",
    "TurnMessage",
    "Unknown",
    "auth_headers",
    "backoff_delay",
    "bytes_per_sample",
    "check_stt_encoding",
    "close_disposition",
    "decode_audio",
    "decode_error",
    "decode_tts_message",
    "decode_turns_message",
    "decode_whisper_message",
    "encode_audio",
    "endpoint_url",
    "parse_words",
    "pcm16_to_float",
    "safe_url",
    "split_text",
    "status_disposition",
    "tts_cancel",
    "tts_request",
    "turns_close_command",
    "turns_config_command",
    "turns_query",
    "whisper_query",
]
