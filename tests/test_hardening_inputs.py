"""Issue 18 §2: bad data never crashes (one line, exit 2, nothing lost). The CLI runs as a
subprocess on damaged audio, recordings, config files, server messages, themes and inputs
that are not regular files."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cartesia_server import CartesiaServer, Fault
from tests.test_cartesia_cli import run_cli as run_cli_async
from tests.test_cli import run_cli
from tests.test_hardening_data import run_file
from voiceconsole.audio.wavio import read_wav, write_wav
from voiceconsole.ui import app as app_module
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.themes import MAX_PROBLEMS_SHOWN, load_themes

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech_turns.wav"
MANIFEST = json.loads((ROOT / "tests" / "data" / "speech_turns.json").read_text())
KEY = "sk_car_inputs_77e1d0c4a9b2"


def one_line(out: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert out.returncode == code, (out.returncode, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("voiceconsole: error: "), out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


def strict_json(text: str) -> object:
    def refuse(name: str) -> float:
        raise AssertionError(f"bare {name} in JSON output")

    return json.loads(text, parse_constant=refuse)


def float_wav(
    path: Path, samples: np.ndarray, rate: int, data_size: int | None = None
) -> None:
    data = samples.astype("<f4").tobytes()
    size = len(data) if data_size is None else data_size
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 3, 1, rate, rate * 4, 4, 32)
        + b"data"
        + struct.pack("<I", size)
    )
    path.write_bytes(header + data)


# --- audio -------------------------------------------------------------------------------------


def test_non_finite_samples_keep_the_log_finite_and_every_turn(tmp_path: Path) -> None:
    speech, rate = read_wav(SPEECH)
    mono = speech[:, 0].copy()
    for i, value in zip(
        (1000, 40000, 90000, 150000), (np.inf, np.nan, -np.inf, np.nan), strict=True
    ):
        mono[i] = value
    wav = tmp_path / "nan.wav"
    float_wav(wav, mono, rate)
    events, record = tmp_path / "events.jsonl", tmp_path / "rec"
    out = run_file(
        wav,
        "--events",
        str(events),
        "--record",
        str(record),
    )
    assert out.returncode == 0, out.stderr
    evs = [strict_json(line) for line in events.read_text().splitlines()]
    assert len([e for e in evs if e["type"] == "turn.end"]) == len(MANIFEST["turns"])  # type: ignore[index]
    levels = [e for e in evs if e["type"] == "audio.level"]  # type: ignore[index]
    assert levels and all(np.isfinite(e["rms_dbfs"]) for e in levels)  # type: ignore[index]
    assert strict_json((record / "meta.json").read_text())["complete"] is True  # type: ignore[index]
    report = run_cli("report", str(record), "--json")
    assert report.returncode == 0, report.stderr
    strict_json(report.stdout)


@pytest.mark.parametrize("data_size", [0, 0xFFFFFFFF])
def test_streaming_wavs_are_read_to_the_end(tmp_path: Path, data_size: int) -> None:
    wav = tmp_path / "stream.wav"
    float_wav(wav, np.zeros(24000, dtype=np.float32), 16000, data_size=data_size)
    assert read_wav(wav)[0].shape == (24000, 1)
    out = run_file(
        wav,
    )
    assert out.returncode == 0, out.stderr


def test_a_fifo_as_the_mic_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "mic.wav"
    os.mkfifo(fifo)
    line = one_line(
        run_cli("--no-ui", "--mic", str(fifo), "--speaker", "null", timeout=60)
    )
    assert "not a regular file" in line and "WAV file" in line


def test_endless_silence_on_virtual_time_is_refused() -> None:
    line = one_line(run_cli("--no-ui", "--mic", "silence", "--fast"))
    assert "--mic silence" in line and "--fast" in line


@pytest.mark.parametrize("block", ["0", "-20", "100000"])
@pytest.mark.parametrize("mic", ["silence", str(SPEECH)])
def test_block_sizes_out_of_range_are_refused_for_every_source(
    block: str, mic: str
) -> None:
    line = one_line(
        run_cli("--no-ui", "--mic", mic, "--speaker", "null", "--block-ms", block)
    )
    assert "--block-ms" in line


def test_a_script_is_read_only_up_to_a_bound(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("hello there\n" * 200_000)
    line = one_line(
        run_cli(
            "--no-ui", "--mic", str(SPEECH), "--fast", "--responder", f"script:{big}"
        )
    )
    assert "too large" in line
    fifo = tmp_path / "lines"
    os.mkfifo(fifo)
    line = one_line(
        run_cli(
            "--no-ui",
            "--mic",
            str(SPEECH),
            "--fast",
            "--responder",
            f"script:{fifo}",
            timeout=60,
        )
    )
    assert "not a regular file" in line


# --- config ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("events = 7", "events must be a str"),
        ("record = true", "record must be a str"),
        ("mic = 1.5", "mic must be a str"),
        ("api-key = 12", "api-key must be a str"),
        ("end-ms = nan", "end-ms must be a int"),
        ("max-turn-s = nan", "finite"),
        ("vad-threshold = inf", "finite"),
        ("end-ms = 100000000000", "too large"),
        ("block-ms = 0", "--block-ms"),
        ('fast = "yes"', "fast must be a bool"),
        ("stt-sample-rate = 1e300", "stt-sample-rate must be a int"),
        ("x = [" + "[" * 3000 + "]" * 3000 + "]", "nested too deeply"),
    ],
)
def test_every_setting_is_type_checked(
    tmp_path: Path, text: str, fragment: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text + "\n")
    line = one_line(
        run_cli("--no-ui", "--mic", str(SPEECH), "--fast", "--config", str(config))
    )
    assert fragment in line


@pytest.mark.parametrize(
    "args",
    [("--max-turn-s", "nan"), ("--vad-threshold", "inf"), ("--end-ms", "99999999999")],
)
def test_non_finite_and_huge_numbers_on_the_command_line_are_refused(
    args: tuple[str, str],
) -> None:
    line = one_line(run_cli("--no-ui", "--mic", str(SPEECH), "--fast", *args))
    assert args[0] in line


def test_no_home_and_no_passwd_entry_runs_on_the_defaults(tmp_path: Path) -> None:
    # The process has no HOME and its uid no passwd entry (as in a minimal container): the
    # lookup fails as it does there, then the real CLI runs.
    wav = tmp_path / "short.wav"
    write_wav(wav, np.zeros(8000, dtype=np.float32), 16000)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HOME", "XDG_CONFIG_HOME", "VOICECONSOLE_CONFIG")
    }
    program = (
        "import pwd, sys\n"
        "def no_entry(uid):\n    raise KeyError(f'getpwuid(): uid not found: {uid}')\n"
        "pwd.getpwuid = no_entry\n"
        "from voiceconsole.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            program,
            "--no-ui",
            "--mic",
            str(wav),
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "local",
            "--tts",
            "local",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "no home directory" in out.stderr and "VOICECONSOLE_CONFIG" in out.stderr
    assert "Traceback" not in out.stderr


# --- recordings ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("rec") / "r"
    out = run_file(
        SPEECH,
        "--record",
        str(base),
    )
    assert out.returncode == 0, out.stderr
    return base


def _damaged(recording: Path, tmp_path: Path, change, target: str) -> Path:
    copy = tmp_path / "damaged"
    shutil.copytree(recording, copy)
    lines = (copy / "events.jsonl").read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if f'"type":"{target}"' in line)
    event = json.loads(lines[index])
    lines[index] = change(event, lines[index])
    (copy / "events.jsonl").write_text("\n".join(lines) + "\n")
    return copy


@pytest.mark.parametrize(
    ("target", "change"),
    [
        ("turn.end", lambda e, line: json.dumps({**e, "type": ["turn.end"]})),
        ("turn.end", lambda e, line: json.dumps({**e, "t": "soon"})),
        ("turn.end", lambda e, line: json.dumps({**e, "t": None})),
        (
            "turn.end",
            lambda e, line: line.replace(f'"t":{json.dumps(e["t"])}', '"t":NaN'),
        ),
        (
            "turn.end",
            lambda e, line: line.replace(
                f'"audio_t":{json.dumps(e["audio_t"])}', '"audio_t":Infinity'
            ),
        ),
        ("turn.end", lambda e, line: json.dumps({**e, "transcript": {"text": "hi"}})),
        ("tts.words", lambda e, line: json.dumps({**e, "words": "not words"})),
        (
            "tts.words",
            lambda e, line: json.dumps(
                {**e, "words": [{"word": "a", "start": "x", "end": 1}]}
            ),
        ),
        ("tts.words", lambda e, line: json.dumps({**e, "words": [{"wort": "a"}]})),
        ("turn.end", lambda e, line: json.dumps({**e, "turn": True})),
        ("turn.end", lambda e, line: "[" * 50_000 + "]" * 50_000),
        (
            "turn.end",
            lambda e, line: '{"type":"turn.end","t":' + "[" * 5000 + "]" * 5000 + "}",
        ),
    ],
    ids=[
        "type-list",
        "t-string",
        "t-null",
        "t-nan",
        "audio_t-inf",
        "transcript-object",
        "words-string",
        "words-bad-time",
        "words-bad-keys",
        "turn-bool",
        "nested-array",
        "nested-field",
    ],
)
@pytest.mark.parametrize("command", ["report", "replay"])
def test_wrong_typed_event_fields_are_refused_in_one_line(
    recording: Path, tmp_path: Path, target: str, change, command: str
) -> None:
    damaged = _damaged(recording, tmp_path, change, target)
    args = (command, str(damaged)) + (
        ("--no-ui", "--speed", "0") if command == "replay" else ()
    )
    line = one_line(run_cli(*args))
    assert "events.jsonl:" in line and "corrupt event line" in line


@pytest.mark.parametrize(
    "meta",
    [
        b"\xff\xfe not text",
        b"[1, 2]",
        b'{"engines": ["local"]}',
        b'{"turn_settings": 5}',
        b'{"complete": "yes"}',
        b'{"duration_s": NaN}',
        b"[" * 50_000,
    ],
    ids=[
        "not-utf8",
        "list",
        "engines-list",
        "turn-settings-number",
        "complete-string",
        "nan",
        "nested",
    ],
)
@pytest.mark.parametrize("command", ["report", "replay"])
def test_a_damaged_meta_json_is_refused_in_one_line(
    recording: Path, tmp_path: Path, meta: bytes, command: str
) -> None:
    copy = tmp_path / "damaged"
    shutil.copytree(recording, copy)
    (copy / "meta.json").write_bytes(meta)
    args = (command, str(copy)) + (
        ("--no-ui", "--speed", "0") if command == "replay" else ()
    )
    line = one_line(run_cli(*args))
    assert "meta.json" in line


# --- server messages ---------------------------------------------------------------------------


async def test_hostile_server_text_is_capped_and_escaped(tmp_path: Path) -> None:
    wav = tmp_path / "short.wav"
    write_wav(wav, np.zeros(16000, dtype=np.float32), 16000)
    events = tmp_path / "events.jsonl"
    async with CartesiaServer(api_key=KEY, faults=[Fault(echo_key="escape")]) as server:
        code, out, err = await run_cli_async(
            "--no-ui",
            "--mic",
            str(wav),
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "cartesia-turns",
            "--tts",
            "local",
            "--stt-url",
            server.url,
            "--events",
            str(events),
            tmp=tmp_path,
            key=KEY,
        )
    assert code == 0, err
    assert "\x1b" not in out and "\x1b" not in err and "\x07" not in out + err
    assert "Traceback" not in err
    evs = [json.loads(line) for line in events.read_text().splitlines()]
    shown = [e for e in evs if e["type"] in ("engine.error", "engine.warning")]
    assert len(shown) >= 2  # the huge error and the nested message were both reported
    for e in shown:
        assert "\x1b" not in e["message"] and len(e["message"]) < 400
    assert any("nested too deeply" in e["message"] for e in shown)
    assert any(
        "more characters" in e["message"] and "\\x1b[2J" in e["message"] for e in shown
    )
    assert max(len(line) for line in events.read_text().splitlines()) < 4000


# --- themes ------------------------------------------------------------------------------------


async def test_theme_markup_and_a_thousand_broken_files_give_a_short_notice(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-markup.toml").write_text(
        'name = "a-markup"\ndark = true\n[colors]\nprimary = "[/]"\nbackground = "#000000"\nforeground = "[bold red]x"\n'
    )
    for i in range(1000):
        (tmp_path / f"broken{i:04d}.toml").write_text("name = [\n")
    themes = load_themes([ROOT / "themes", tmp_path])
    assert (
        len(themes.problems) == MAX_PROBLEMS_SHOWN + 1
        and "998 more" in themes.problems[-1]
    )
    assert "\\[/]" in themes.problems[0]  # escaped for the notice, which is markup
    settings = type("S", (), {"theme": "a-markup", "record": None})()
    notices: list[str] = []

    class Console(VoiceConsoleApp):
        CSS_PATH = str(Path(app_module.__file__).parent / "app.tcss")

        def notify(self, message: str, **kwargs: object) -> None:  # type: ignore[override]
            notices.append(message)
            super().notify(message, **kwargs)  # type: ignore[arg-type]

    app = Console(None, settings=settings, themes=themes)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(
            0.3
        )  # the notice is drawn (markup parsed) while the console runs
        assert app.theme == "dark" and app.is_running
    assert len(notices) == 1 and "998 more broken theme files" in notices[0]
    assert len(notices[0].splitlines()) <= MAX_PROBLEMS_SHOWN + 2


# --- timings in virtual time ---------------------------------------------------------------------


def test_virtual_time_reports_engine_timings_as_not_measured(recording: Path) -> None:
    text = run_cli("report", str(recording))
    assert text.returncode == 0, text.stderr
    rows = {line.split()[0]: line for line in text.stdout.splitlines() if line.strip()}
    assert (
        "n/a (virtual time)" in rows["TTS"]
        and "n/a (virtual time)" in rows["end→audio"]
    )
    assert (
        "ms" in rows["stop→end"] and "n/a" not in rows["stop→end"]
    )  # audio-time timings stay
    data = strict_json(run_cli("report", str(recording), "--json").stdout)
    timeline = data["timelines"][0]  # type: ignore[index]
    assert (
        timeline["virtual_time"] is True
        and "tts_ttfa" in timeline["not_measured_in_virtual_time"]
    )
    for turn in timeline["turns"]:
        assert turn["tts_ttfa_ms"] is None and turn["response_latency_ms"] is None
        assert turn["end_of_turn_delay_ms"] > 0
    csv_text = run_cli("report", str(recording), "--csv").stdout
    assert "n/a (virtual time)" in csv_text.splitlines()[1]
