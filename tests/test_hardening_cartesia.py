"""Issue 18 §4: the Cartesia clients behave as the real service expects. The CLI runs as a
subprocess against the scripted server on 127.0.0.1, which records what each connection sent
and when."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from websockets.asyncio.client import connect

from tests.cartesia_server import CartesiaServer, WhisperSegment
from tests.test_cartesia_cli import run_cli
from voiceconsole.audio.wavio import write_wav

KEY = "sk_car_real_3c5e7a9b1d2f"
LEAD_S = 1.0  # the pacer's burst allowance
SLACK_S = 0.3  # scheduling slack: the client may only ever be later, never earlier


@pytest.fixture
def tone(tmp_path: Path) -> Path:
    path = tmp_path / "tone.wav"
    t = np.arange(3 * 16000) / 16000
    write_wav(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return path


def events_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_fast_runs_stream_to_cartesia_at_most_at_real_time(
    tmp_path: Path, tone: Path
) -> None:
    events = tmp_path / "events.jsonl"
    async with CartesiaServer(api_key=KEY) as server:
        code, _, err = await run_cli(
            "--no-ui",
            "--mic",
            str(tone),
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "cartesia-turns",
            "--stt-url",
            server.url,
            "--tts",
            "local",
            "--events",
            str(events),
            tmp=tmp_path,
            key=KEY,
        )
    assert code == 0, err
    arrivals = server.connections[0].arrivals
    t0 = arrivals[0][0]
    sent = 0
    for at, n in arrivals:
        sent += n
        audio_s = sent / (2 * 16000)
        assert audio_s <= (at - t0) + LEAD_S + SLACK_S, (audio_s, at - t0)
    assert (
        sent / (2 * 16000) >= 3.0
    )  # the whole file (and the trailing silence) went out


async def test_ink2_thresholds_are_sent_only_when_set(
    tmp_path: Path, tone: Path
) -> None:
    async with CartesiaServer(api_key=KEY) as server:
        for extra in (
            (),
            ("--turn-end-threshold", "0.3", "--turn-end-timeout-ms", "2400"),
        ):
            code, _, err = await run_cli(
                "--no-ui",
                "--mic",
                str(tone),
                "--fast",
                "--speaker",
                "null",
                "--stt",
                "cartesia-turns",
                "--stt-url",
                server.url,
                "--tts",
                "local",
                *extra,
                tmp=tmp_path,
                key=KEY,
            )
            assert code == 0, err
    plain, tuned = (c.query for c in server.connections)
    assert not any(
        name.startswith("turn_") for name in plain
    )  # the server's own defaults apply
    assert {n: v for n, v in tuned.items() if n.startswith("turn_")} == {
        "turn_end_threshold": ["0.3"],
        "turn_end_timeout_ms": ["2400"],
    }


async def test_whisper_query_language_keyterms_and_options(
    tmp_path: Path, tone: Path
) -> None:
    segments = [WhisperSegment(0.2, 1.5, "New York calling")]
    events = tmp_path / "events.jsonl"
    async with CartesiaServer(api_key=KEY, whisper_segments=segments) as server:
        code, _, err = await run_cli(
            "--no-ui",
            "--mic",
            str(tone),
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "cartesia-whisper",
            "--stt-url",
            server.url,
            "--tts",
            "local",
            "--language",
            "en-US",
            "--keyterm",
            "New York",
            "--keyterm",
            "Cartesia",
            "--min-volume",
            "0.1",
            "--max-silence-duration-secs",
            "0.6",
            "--events",
            str(events),
            tmp=tmp_path,
            key=KEY,
        )
    assert code == 0, err
    query = server.connections[0].query
    assert query["language"] == ["en"] and query["keyterm"] == ["New York", "Cartesia"]
    assert query["min_volume"] == ["0.1"] and query["max_silence_duration_secs"] == [
        "0.6"
    ]
    raw_path = server.attempts[0][0]
    assert "keyterm=New%20York" in raw_path and "+" not in unquote(
        raw_path.split("?", 1)[1]
    ).replace("New York", "")
    heard = [
        e
        for e in events_of(events)
        if e["type"] in ("transcript.interim", "transcript.final")
    ]
    assert heard and all(
        e["language"] == "en" and e["request_id"] == "w" for e in heard
    )


async def test_ink2_keyterms_and_the_request_id_users_quote_to_support(
    tmp_path: Path, tone: Path
) -> None:
    events = tmp_path / "events.jsonl"
    async with CartesiaServer(api_key=KEY) as server:
        code, _, err = await run_cli(
            "--no-ui",
            "--mic",
            str(tone),
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "cartesia-turns",
            "--stt-url",
            server.url,
            "--tts",
            "local",
            "--keyterm",
            "Ink two",
            "--events",
            str(events),
            tmp=tmp_path,
            key=KEY,
        )
    assert code == 0, err
    assert server.connections[0].query["keyterm"] == ["Ink two"]
    connected = [
        e
        for e in events_of(events)
        if e["type"] == "engine.state" and e["state"] == "connected"
    ]
    assert connected and "request_id req-1" in connected[0]["detail"]


async def test_sonic_requests_carry_generation_config_and_input_text_timings(
    tmp_path: Path, tone: Path
) -> None:
    async with CartesiaServer(api_key=KEY, tts_seconds_per_char=0.005) as server:
        code, _, err = await run_cli(
            "--no-ui",
            "--mic",
            "tests/data/speech_turns.wav",
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "local",
            "--tts",
            "cartesia",
            "--tts-url",
            server.url,
            "--tts-sample-rate",
            "16000",
            "--language",
            "en_GB",
            "--tts-speed",
            "1.1",
            "--tts-emotion",
            "calm",
            "--pronunciation-dict-id",
            "dict-9",
            tmp=tmp_path,
            key=KEY,
        )
    assert code == 0, err
    requests = [
        r
        for c in server.connections
        if c.path == "/tts/websocket"
        for r in c.json_texts
        if "transcript" in r
    ]
    assert requests
    for request in requests:
        assert (
            request["language"] == "en"
            and request["use_normalized_timestamps"] is False
        )
        assert request["generation_config"] == {"speed": 1.1, "emotion": "calm"}
        assert request["pronunciation_dict_id"] == "dict-9"


async def test_sonic_without_options_sends_no_generation_config(tmp_path: Path) -> None:
    async with CartesiaServer(api_key=KEY, tts_seconds_per_char=0.005) as server:
        code, _, err = await run_cli(
            "--no-ui",
            "--mic",
            "tests/data/speech_turns.wav",
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "local",
            "--tts",
            "cartesia",
            "--tts-url",
            server.url,
            "--tts-sample-rate",
            "16000",
            tmp=tmp_path,
            key=KEY,
        )
    assert code == 0, err
    requests = [
        r for c in server.connections for r in c.json_texts if "transcript" in r
    ]
    assert requests and not any(
        "generation_config" in r or "pronunciation_dict_id" in r for r in requests
    )


@pytest.mark.parametrize(
    "args", [("--tts-speed", "0"), ("--min-volume", "-1"), ("--keyterm", "x") * 101]
)
async def test_bad_cartesia_options_are_one_line(
    tmp_path: Path, tone: Path, args: tuple[str, ...]
) -> None:
    stt = (
        "cartesia-whisper" if "--min-volume" in args or "--keyterm" in args else "local"
    )
    async with CartesiaServer(api_key=KEY) as server:
        code, _, err = await run_cli(
            "--no-ui",
            "--mic",
            str(tone),
            "--fast",
            "--speaker",
            "null",
            "--stt",
            stt,
            "--stt-url",
            server.url,
            "--tts",
            "cartesia",
            "--tts-url",
            server.url,
            *args,
            tmp=tmp_path,
            key=KEY,
        )
    assert code == 2 and len(err.strip().splitlines()) == 1 and args[0] in err, err
    assert server.attempts == []


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
async def test_the_test_server_takes_both_auth_headers(header: str) -> None:
    value = f"Bearer {KEY}" if header == "Authorization" else KEY
    async with (
        CartesiaServer(api_key=KEY) as server,
        connect(
            f"{server.url}/stt/turns/websocket?model=ink-2&encoding=pcm_s16le&sample_rate=16000",
            additional_headers={header: value},
        ) as ws,
    ):
        first = json.loads(await ws.recv())
    assert first["type"] == "connected"


async def test_sonic_replies_end_with_flush_done_and_status_codes() -> None:
    async with (
        CartesiaServer(api_key=KEY, tts_seconds_per_char=0.005) as server,
        connect(
            f"{server.url}/tts/websocket", additional_headers={"X-API-Key": KEY}
        ) as ws,
    ):
        await ws.send(
            json.dumps(
                {
                    "model_id": "sonic-3",
                    "transcript": "Hi there.",
                    "voice": {"mode": "id", "id": "v"},
                    "context_id": "c1",
                    "continue": False,
                    "output_format": {
                        "container": "raw",
                        "encoding": "pcm_s16le",
                        "sample_rate": 16000,
                    },
                }
            )
        )
        kinds = []
        while not kinds or kinds[-1]["type"] != "done":
            kinds.append(json.loads(await ws.recv()))
    types = [k["type"] for k in kinds]
    assert types[-2:] == ["flush_done", "done"] and all(
        "status_code" in k for k in kinds if k["type"] != "timestamps"
    )
