"""Cartesia engines: Ink-2 turns STT, ink-whisper STT (with a local VAD) and sonic TTS.

Layout: :mod:`.protocol` is sans-I/O (URLs, headers, request encoding, server message
decoding, audio encoding, backoff); :mod:`.socket` is the one websocket shell with reconnects,
keepalive and fault reporting; :mod:`.stt_turns`, :mod:`.stt_whisper` and :mod:`.tts` are the
engines; :mod:`.factory` builds them from :class:`~voiceconsole.config.Settings`.

The API key travels only in the ``X-API-Key`` header: it is never put in a URL, a log line, an
event or an error message.
"""
