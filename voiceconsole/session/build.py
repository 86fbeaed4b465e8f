"""Building a session from :class:`~voiceconsole.config.Settings`."""

from __future__ import annotations

import sys

from voiceconsole.audio.io import AudioSink, AudioSource, NullSink, SilenceSource, WavFileSink, WavFileSource
from voiceconsole.config import Settings
from voiceconsole.engines.registry import create_stt, create_tts, resolve_stt, resolve_tts
from voiceconsole.errors import ConfigError, DeviceError
from voiceconsole.session.mic import plan_aec
from voiceconsole.session.responder import make_llm_responder, make_responder
from voiceconsole.session.session import Session, SessionOptions, make_clock

SPEAKER_RATE = 16000


def open_source(settings: Settings) -> AudioSource:
    """The mic: a WAV file, ``silence``, or (no ``--mic``) the input device."""
    if settings.mic == "silence":
        return SilenceSource(16000, settings.block_ms)
    if settings.mic:
        return WavFileSource(settings.mic, settings.block_ms)
    from voiceconsole.audio import open_devices as devices

    return devices.open_input(settings)


def open_sink(settings: Settings, source: AudioSource) -> AudioSink:
    """The speaker: a WAV file, ``null``, ``device``, or by default the output device when one
    can be used (never with ``--fast``: virtual time cannot drive a real device)."""
    choice = settings.speaker
    if choice == "null":
        return NullSink(SPEAKER_RATE)
    if choice and choice != "device":
        if not choice.lower().endswith(".wav"):
            raise ConfigError(f"--speaker {choice}: give a path ending in .wav, 'null' or 'device'")
        return WavFileSink(choice, SPEAKER_RATE)
    if settings.fast:
        if choice == "device":
            raise ConfigError("--fast runs on virtual time and cannot play to a device; use --speaker OUT.wav or null")
        return NullSink(SPEAKER_RATE)
    from voiceconsole.audio import open_devices as devices

    if choice == "device" or settings.output_device:
        return devices.open_output(settings)
    try:
        return devices.open_output(settings)
    except DeviceError:
        # No sound card: a file session still runs, replies are timed but not heard.
        return NullSink(SPEAKER_RATE)


def build_session(settings: Settings, *, hold_open: bool = False) -> Session:
    """Create every component; raises :class:`~voiceconsole.errors.UserError` for bad input."""
    from voiceconsole.audio.vad import ReferenceVad

    turn_settings = settings.turn_settings()
    responder = make_llm_responder(settings) if settings.responder == "llm" else make_responder(settings.responder)
    stt_name, tts_name = resolve_stt(settings), resolve_tts(settings)
    if turn_settings.turn_detector != "vad" and stt_name != "local":
        raise ConfigError(
            f"--turn-detector {turn_settings.turn_detector} runs in the offline engine only, not {stt_name}: "
            "add --stt local, or drop --turn-detector"
        )
    if settings.fast and not settings.mic:
        raise ConfigError("--fast needs a file input: add --mic FILE.wav")
    source = open_source(settings)
    sink = open_sink(settings, source)
    stt = create_stt(settings)
    tts = create_tts(settings)
    options = SessionOptions(
        block_ms=settings.block_ms,
        hold_open=hold_open,
        auto_barge_in=settings.barge_in,
        mute_while_speaking=settings.mute_while_speaking,
        metadata={
            "stt_engine": stt_name,
            "tts_engine": tts_name,
            "source_description": source.description,
            "sink_description": sink.description,
            **({"llm_model": settings.llm_model, "speculate": settings.speculate} if settings.responder == "llm" else {}),
        },
    )
    virtual = settings.fast and not source.self_clocked
    aec = plan_aec(settings.aec, settings.noise_suppression, source, sink, stt.sample_rate)
    if aec.state == "failed":
        print(f"voiceconsole: {aec.detail}; running without echo cancellation", file=sys.stderr)
    return Session(
        aec=aec,
        source=source,
        sink=sink,
        stt=stt,
        tts=tts,
        responder=responder,
        reference_vad=ReferenceVad(),
        clock=make_clock(virtual),
        options=options,
        turn_settings=turn_settings,
    )
