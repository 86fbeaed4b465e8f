"""The sans-I/O Cartesia protocol: request encoding and lenient message decoding, no sockets."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.engines.cartesia.outage import OutageBuffer
from voiceconsole.engines.cartesia.protocol import (
    AudioChunk,
    Connected,
    Done,
    ErrorMessage,
    FlushDone,
    RetryPolicy,
    Timestamps,
    Transcript,
    TtsFormat,
    TurnMessage,
    Unknown,
    auth_headers,
    backoff_delay,
    close_disposition,
    decode_audio,
    decode_tts_message,
    decode_turns_message,
    decode_whisper_message,
    encode_audio,
    endpoint_url,
    safe_url,
    split_text,
    status_disposition,
    tts_cancel,
    tts_request,
    turns_config_command,
    turns_query,
)
from voiceconsole.engines.vad_turns import VadTurnTracker
from voiceconsole.errors import ConfigError
from voiceconsole.events import WordTiming


def test_endpoint_url_appends_path_and_query_to_a_base() -> None:
    url = endpoint_url("ws://127.0.0.1:8123", "/stt/turns/websocket", [("model", "ink-2"), ("sample_rate", 16000)])
    assert url == "ws://127.0.0.1:8123/stt/turns/websocket?model=ink-2&sample_rate=16000"
    assert endpoint_url("https://api.cartesia.ai/", "/tts/websocket") == "wss://api.cartesia.ai/tts/websocket"


def test_endpoint_url_keeps_a_full_url_and_its_query() -> None:
    url = endpoint_url("wss://staging.example/custom/stt?region=eu", "/stt/websocket", {"model": "ink-whisper"})
    assert url == "wss://staging.example/custom/stt?region=eu&model=ink-whisper"


@pytest.mark.parametrize("base", ["ftp://x", "not a url", "ws://", "ws://h:99999"])
def test_endpoint_url_rejects_non_websocket_urls(base: str) -> None:
    with pytest.raises(ConfigError):
        endpoint_url(base, "/tts/websocket")


def test_a_key_in_the_url_is_refused_and_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        endpoint_url("wss://api.cartesia.ai/stt/websocket?api_key=sk-secret", "/stt/websocket")
    assert "sk-secret" not in str(info.value)
    assert "sk-secret" not in safe_url("wss://user:sk-secret@api.cartesia.ai/x?api_key=sk-secret")


def test_headers_carry_the_key_and_version() -> None:
    assert auth_headers("k1") == {"X-API-Key": "k1", "Cartesia-Version": "2026-03-01"}


def test_turns_query_and_config_command_carry_the_thresholds() -> None:
    turn = TurnSettings(start_threshold=0.7, eager_end_threshold=0.35, end_threshold=0.1, end_timeout_ms=1200)
    assert dict(turns_query("ink-2", "pcm_s16le", 16000, turn)) == {
        "model": "ink-2", "encoding": "pcm_s16le", "sample_rate": 16000, "turn_start_threshold": 0.7,
        "turn_eager_end_threshold": 0.35, "turn_end_threshold": 0.1, "turn_end_timeout_ms": 1200,
    }
    assert json.loads(turns_config_command(turn)) == {
        "type": "config",
        "turn": {"start_threshold": 0.7, "eager_end_threshold": 0.35, "end_threshold": 0.1, "end_timeout_ms": 1200},
    }


def test_decode_turn_messages() -> None:
    assert decode_turns_message('{"type":"connected","request_id":"r1"}') == Connected("r1")
    assert decode_turns_message('{"type":"turn.start","request_id":"r"}') == TurnMessage("start")
    assert decode_turns_message('{"type":"turn.update","transcript":" Hi"}') == TurnMessage("update", " Hi")
    assert decode_turns_message('{"type":"turn.end","transcript":""}') == TurnMessage("end", "")
    assert decode_turns_message('{"type":"turn.resume"}') == TurnMessage("resume")
    assert decode_turns_message('{"type":"turn.future"}') == Unknown("turn.future")


@pytest.mark.parametrize("text", ['{"type":"turn.update"', "[1,2]", '{"transcript":"x"}', '{"type":"turn.end","transcript":5}', b"\xff\xfe"])
def test_malformed_messages_raise_protocol_error(text: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_turns_message(text)


def test_both_error_shapes_decode() -> None:
    new = decode_turns_message(json.dumps({"type": "error", "status_code": 400, "error_code": "model_not_found",
                                           "title": "Model not found", "message": "no such model", "request_id": "q"}))
    assert new == ErrorMessage("no such model", 400, "model_not_found", None, "q")
    old = decode_tts_message(json.dumps({"type": "error", "error": "invalid voice", "code": 422, "context_id": "c1"}))
    assert old == ErrorMessage("invalid voice", 422, "", "c1", "")
    titled = decode_whisper_message(json.dumps({"type": "error", "title": "Bad request", "code": "bad_request"}))
    assert titled.message == "Bad request" and titled.code == "bad_request" and titled.status is None
    untyped = decode_turns_message(json.dumps({"error": "Unauthorized"}))
    assert isinstance(untyped, ErrorMessage) and untyped.message == "Unauthorized"


def test_whisper_transcripts_in_both_word_shapes() -> None:
    listed = decode_whisper_message(json.dumps({"type": "transcript", "is_final": True, "text": " How are", "duration": 0.5,
                                                "words": [{"word": "How", "start": 0.0, "end": 0.12}, {"word": "are", "start": 0.2, "end": 0.3}]}))
    parallel = decode_whisper_message(json.dumps({"type": "transcript", "is_final": True, "text": " How are",
                                                  "words": ["How", "are"], "start": [0.0, 0.2], "end": [0.12, 0.3]}))
    expected = (WordTiming("How", 0.0, 0.12), WordTiming("are", 0.2, 0.3))
    assert isinstance(listed, Transcript) and listed.words == expected and listed.text == " How are"
    assert isinstance(parallel, Transcript) and parallel.words == expected
    assert decode_whisper_message('{"type":"transcript","is_final":false,"text":"ho"}') == Transcript("ho", False)
    assert decode_whisper_message('{"type":"flush_done"}') == FlushDone()
    assert decode_whisper_message('{"type":"done"}') == Done()
    # Unreadable word timings keep the text and is_final, and say why (the engine warns).
    kept = decode_whisper_message('{"type":"transcript","is_final":true,"text":" a","words":["a"],"start":[0.0],"end":[]}')
    assert isinstance(kept, Transcript) and kept.text == " a" and kept.is_final and kept.words == ()
    assert "parallel" in kept.words_problem


def test_tts_messages() -> None:
    chunk = decode_tts_message(json.dumps({"type": "chunk", "data": "AAABAA==", "done": False, "context_id": "c"}))
    assert chunk == AudioChunk("c", b"\x00\x00\x01\x00", False)
    stamps = decode_tts_message(json.dumps({"type": "timestamps", "context_id": "c",
                                            "word_timestamps": {"words": ["Hi"], "start": [0.1], "end": [0.4]}}))
    assert stamps == Timestamps("c", (WordTiming("Hi", 0.1, 0.4),))
    assert decode_tts_message('{"type":"done","done":true,"context_id":"c"}') == Done("c")
    with pytest.raises(ProtocolError):
        decode_tts_message('{"type":"chunk","data":"***","context_id":"c"}')


def test_tts_request_and_cancel() -> None:
    fmt = TtsFormat("sonic-3", "voice-1", "en", 24000)
    req = json.loads(tts_request(fmt, "ctx", "Hello there. ", more=True))
    assert req == {"model_id": "sonic-3", "transcript": "Hello there. ", "voice": {"mode": "id", "id": "voice-1"},
                   "language": "en", "context_id": "ctx",
                   "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000},
                   "add_timestamps": True, "use_normalized_timestamps": False, "continue": True,
                   "max_buffer_delay_ms": 0}
    assert json.loads(tts_request(fmt, "ctx", "", more=False))["continue"] is False
    tuned = TtsFormat("sonic-3", "voice-1", "en", 24000, generation_config=(("speed", 1.2), ("emotion", "calm")),
                      pronunciation_dict_id="dict-1")
    req = json.loads(tts_request(tuned, "ctx", "Hi. ", more=True))
    assert req["generation_config"] == {"speed": 1.2, "emotion": "calm"} and req["pronunciation_dict_id"] == "dict-1"
    assert json.loads(tts_cancel("ctx")) == {"context_id": "ctx", "cancel": True}


@pytest.mark.parametrize("text", [
    "Hello there. How are you today? I am fine, thanks; and you!",
    "no punctuation at all",
    "Short. Bits. Here. And a longer sentence follows it.",
    "Trailing spaces stay.   ",
    "",
])
def test_split_text_concatenates_back_verbatim(text: str) -> None:
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert all(pieces)


def test_split_text_breaks_at_sentences_and_clauses() -> None:
    assert split_text("Hello there, friend. How are you today? Fine.") == ["Hello there, friend. ", "How are you today? ", "Fine."]
    long_clause = "Well, if you really want to know what happened yesterday, I can tell you. Fine."
    assert split_text(long_clause) == ["Well, if you really want to know what happened yesterday, ", "I can tell you. ", "Fine."]


@pytest.mark.parametrize("encoding", ["pcm_s16le", "pcm_s32le", "pcm_f32le", "pcm_f16le", "pcm_mulaw", "pcm_alaw"])
def test_audio_encodings_round_trip(encoding: str) -> None:
    x = (0.8 * np.sin(np.linspace(0, 20, 1000))).astype(np.float32)
    data = encode_audio(x, encoding)
    y = decode_audio(data, encoding)
    assert y.shape == x.shape
    tolerance = 0.03 if encoding in ("pcm_mulaw", "pcm_alaw") else 1e-3
    assert np.max(np.abs(y - x)) < tolerance


def test_s16le_bytes_are_exact() -> None:
    assert encode_audio(np.array([0.0, 1.0, -1.0, 2.0], dtype=np.float32), "pcm_s16le") == b"\x00\x00\xff\x7f\x01\x80\xff\x7f"
    assert encode_audio(np.zeros(2, dtype=np.float32), "pcm_mulaw") == b"\xff\xff"
    assert encode_audio(np.zeros(2, dtype=np.float32), "pcm_alaw") == b"\xd5\xd5"


def test_unknown_encoding_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="pcm_s16le"):
        encode_audio(np.zeros(4, dtype=np.float32), "mp3")


def test_backoff_grows_from_half_a_second_to_eight_with_jitter() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    delays = [backoff_delay(policy, n, rng) for n in range(1, 9)]
    bases = [0.5, 1, 2, 4, 8, 8, 8, 8]
    for delay, base in zip(delays, bases):
        assert base * 0.75 <= delay <= base
    assert len(set(delays[4:])) > 1  # jitter: equal bases, different delays


def test_close_and_status_dispositions() -> None:
    assert close_disposition(1000) == "normal"
    assert all(close_disposition(c) == "retry" for c in (1001, 1005, 1006, 1011, 1012, 1013, 1015, None))
    assert close_disposition(1008) == "fatal"
    assert status_disposition(401) == status_disposition(403) == "auth"
    assert status_disposition(429) == "rate_limited"
    assert status_disposition(503) == "server"
    assert status_disposition(404) == "rejected"


def test_outage_buffer_drops_the_oldest_beyond_its_bound() -> None:
    buf = OutageBuffer(10)
    assert buf.push(b"aaaa") == 0 and buf.push(b"bbbb") == 0
    assert buf.push(b"cccc") == 4
    frames, dropped = buf.take_all()
    assert frames == [b"bbbb", b"cccc"] and dropped == 4 and buf.size == 0


def test_vad_turn_tracker_follows_the_offline_rules() -> None:
    tracker = VadTurnTracker(TurnSettings(start_speech_ms=64, eager_end_silence_ms=96, end_silence_ms=320), frame_samples=512)
    n = 512
    probs = [0.9] * 5 + [0.0] * 4 + [0.9] * 3 + [0.0] * 12
    frames = [((i + 1) * n, p) for i, p in enumerate(probs)]
    assert tracker.process(frames) == ["start", "eager_end", "resume", "eager_end", "finalize"]
    assert tracker.finish() == []
    tracker.process([(0, 0.9)] * 3)
    assert tracker.finish() == ["finalize"]


@pytest.mark.parametrize("encoding", ["pcm_s16le", "pcm_mulaw"])
def test_the_streamers_block_encoder_gives_the_bytes_of_encode_audio(encoding: str) -> None:
    from voiceconsole.engines.cartesia.streamer import AudioStreamer

    streamer = AudioStreamer(None, encoding=encoding, sample_rate=16000)  # type: ignore[arg-type]
    rng = np.random.default_rng(7)
    edges = np.array([0.0, 1.0, -1.0, 2.0, -3.0, 0.5 / 32767, 1.5 / 32767, -2.5 / 32767], dtype=np.float32)
    blocks = [edges, *(rng.uniform(-1.2, 1.2, n).astype(np.float32) for n in (320, 320, 160, 320))]
    blocks += [rng.uniform(-1, 1, 640).astype(np.float32)[::2], rng.uniform(-1, 1, 320)]  # strided; float64
    for block in blocks:
        assert streamer.encode(block) == encode_audio(block, encoding)
