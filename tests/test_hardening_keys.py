"""Issue 18 §1: a key never leaks. The CLI runs as a subprocess against the scripted Cartesia
server on 127.0.0.1, in every situation where a key could escape (a malformed key, a server
echoing it in an HTTP body, an error, a close reason or a message type, a key in a URL), and
stdout, stderr (where log records go), the event log and every file of the recording are
scanned for it, in every form it can take in text."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import numpy as np
import pytest

from tests.cartesia_server import CartesiaServer, Fault
from tests.test_cartesia_cli import run_cli
from voiceconsole.audio.wavio import write_wav

KEY = "sk_car_leak_5f0c9e27b1d84a63"
LLM_KEY = "sk-proj-llm-8a1b2c3d4e5f60718293"


def forms(secret: str) -> set[str]:
    """Every way ``secret`` can be written into text or a file."""
    return {
        secret,
        secret.strip(),
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    }


def leaks(secret: str, *texts: str, files: tuple[Path, ...] = ()) -> list[str]:
    found = []
    needles = [f for f in forms(secret) if len(f) >= 8]
    for i, text in enumerate(texts):
        if any(n in text for n in needles):
            found.append(f"text {i}")
    for root in files:
        paths = (
            [root]
            if root.is_file()
            else [p for p in root.rglob("*") if p.is_file()]
            if root.exists()
            else []
        )
        for path in paths:
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                found.append(str(path))
    return found


@pytest.fixture
def short_wav(tmp_path: Path) -> Path:
    path = tmp_path / "short.wav"
    t = np.arange(16000) / 16000
    write_wav(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return path


async def run_against(
    server: CartesiaServer,
    tmp: Path,
    wav: Path,
    *extra: str,
    key: str = KEY,
    stt: str = "cartesia-turns",
    tts: str = "local",
) -> tuple[int, str, str, Path, Path]:
    events, record = tmp / "events.jsonl", tmp / "rec"
    args = [
        "--no-ui",
        "--mic",
        str(wav),
        "--fast",
        "--speaker",
        "null",
        "--stt",
        stt,
        "--tts",
        tts,
        "--events",
        str(events),
        "--record",
        str(record),
        *extra,
    ]
    if "--stt-url" not in extra:
        args += ["--stt-url", server.url]
    if tts == "cartesia" and "--tts-url" not in extra:
        args += ["--tts-url", server.url, "--tts-sample-rate", "16000"]
    old = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = (
        LLM_KEY  # a second known secret: scrubbed wherever it shows
    )
    try:
        code, out, err = await run_cli(*args, tmp=tmp, key=key)
    finally:
        if old is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = old
    return code, out, err, events, record


def assert_no_leak(
    out: str, err: str, events: Path, record: Path, *secrets: str
) -> None:
    for secret in secrets or (KEY, LLM_KEY):
        assert leaks(secret, out, err, files=(events, record)) == [], secret
    assert "Traceback" not in err


async def test_a_key_with_a_stray_carriage_return_is_malformed_not_unreachable(
    tmp_path: Path, short_wav: Path
) -> None:
    async with CartesiaServer(api_key=KEY) as server:
        code, out, err, events, record = await run_against(
            server, tmp_path, short_wav, key=KEY + "\r"
        )
    assert code == 2
    lines = err.strip().splitlines()
    assert (
        len(lines) == 1 and "malformed" in lines[0] and "carriage return" in lines[0]
    ), err
    assert "cannot reach" not in err and "network" not in err
    assert server.attempts == []  # nothing was sent
    assert_no_leak(out, err, events, record, KEY, KEY + "\r")


@pytest.mark.parametrize("stray", [" ", "\n", "\t", "\x1b", "é", '"'])
async def test_other_malformed_keys_are_refused_before_any_connection(
    tmp_path: Path, short_wav: Path, stray: str
) -> None:
    bad = KEY[:10] + stray + KEY[10:]
    async with CartesiaServer(api_key=KEY) as server:
        code, out, err, events, record = await run_against(
            server, tmp_path, short_wav, key=bad
        )
    if (
        stray == '"'
    ):  # a quote is a printable character: a valid header, refused by the server
        assert code == 1 and "refused" in err
    else:
        assert code == 2 and "malformed" in err and len(err.strip().splitlines()) == 1
        assert server.attempts == []
    assert_no_leak(out, err, events, record, bad)


async def test_a_server_echoing_the_key_in_an_http_body_is_scrubbed(
    tmp_path: Path, short_wav: Path
) -> None:
    async with CartesiaServer(
        api_key=KEY, faults=[Fault(echo_key="body", echo_extra=" and " + LLM_KEY)]
    ) as server:
        code, out, err, events, record = await run_against(server, tmp_path, short_wav)
    assert code == 1
    assert "HTTP 400" in err and "bad request for key ***" in err
    assert_no_leak(out, err, events, record)


@pytest.mark.parametrize("where", ["error", "unknown", "close"])
async def test_a_server_echoing_the_key_in_a_message_is_scrubbed(
    tmp_path: Path, short_wav: Path, where: str
) -> None:
    async with CartesiaServer(
        api_key=KEY, faults=[Fault(echo_key=where, echo_extra=" " + LLM_KEY)]
    ) as server:
        code, out, err, events, record = await run_against(server, tmp_path, short_wav)
    assert code == 0, err
    shown = [json.loads(line) for line in events.read_text().splitlines()]
    texts = [
        e.get("message", "") + e.get("detail", "")
        for e in shown
        if e["type"].startswith("engine.")
    ]
    assert any("***" in t for t in texts), texts  # the echo was seen, masked
    assert_no_leak(out, err, events, record)
    meta = json.loads((record / "meta.json").read_text())
    assert meta["complete"] is True and meta["settings"]["api_key"] == "set"


async def test_sonic_echoing_the_key_is_scrubbed(
    tmp_path: Path, short_wav: Path
) -> None:
    async with CartesiaServer(api_key=KEY, faults=[Fault(echo_key="error")]) as server:
        code, out, err, events, record = await run_against(
            server, tmp_path, short_wav, stt="local", tts="cartesia"
        )
    assert code == 0, err
    assert_no_leak(out, err, events, record)


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:{port}/?api_key={key}",
        "ws://127.0.0.1:{port}/?x={key}",
        "ws://127.0.0.1:{port}/?token=abc",
        "ws://user:{key}@127.0.0.1:{port}",
        "ws://{key}@127.0.0.1:{port}",
    ],
)
async def test_a_key_in_a_url_is_refused_before_anything_is_sent(
    tmp_path: Path, short_wav: Path, url: str
) -> None:
    async with CartesiaServer(api_key=KEY) as server:
        shown = url.format(port=server.port, key=KEY)
        code, out, err, events, record = await run_against(
            server, tmp_path, short_wav, "--stt-url", shown
        )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "credentials" in err
    assert server.attempts == []
    assert_no_leak(out, err, events, record)


async def test_a_normal_run_records_urls_without_credentials_and_no_key(
    tmp_path: Path, short_wav: Path
) -> None:
    async with CartesiaServer(api_key=KEY) as server:
        code, out, err, events, record = await run_against(server, tmp_path, short_wav)
    assert code == 0, err
    meta = json.loads((record / "meta.json").read_text())
    assert meta["settings"]["stt_url"] == server.url
    assert_no_leak(out, err, events, record)
    assert server.connections and server.connections[0].headers["X-API-Key"] == KEY


def test_log_records_are_scrubbed(tmp_path: Path) -> None:
    # A library logging the key (websockets logs headers at DEBUG) never writes it out.
    code = (
        "import logging, sys\n"
        "from voiceconsole import secrets\n"
        f"secrets.register({KEY!r}); secrets.install_log_scrubber()\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
        f"logging.getLogger('websockets.client').debug('> X-API-Key: %s', {KEY!r})\n"
        "try:\n"
        f"    raise RuntimeError('boom ' + {KEY!r})\n"
        "except RuntimeError:\n"
        "    logging.getLogger('x').exception('failed')\n"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "X-API-Key: ***" in out.stderr and "boom ***" in out.stderr
    assert leaks(KEY, out.stdout, out.stderr) == []


def test_an_llm_error_echoing_the_key_reaches_no_banner_event_or_log() -> None:
    """The LLM server's error text becomes the banner's event as it is: masked where it is made."""
    from voiceconsole import secrets
    from voiceconsole.engines.llm.client import LlmError

    key = "sk-llm-echoed-0123456789"
    secrets.register(key)
    error = LlmError(f"401 Unauthorized: invalid key {key}\x1b[2J", f"check the key {key}", fatal=True)
    for text in (error.message, error.hint, str(error)):
        assert key not in text and "\x1b" not in text
        assert secrets.MASK in text
