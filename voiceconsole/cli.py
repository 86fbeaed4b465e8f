"""The ``voiceconsole`` command line.

Imports stay lazy: ``voiceconsole --version`` and ``--help`` load neither numpy nor textual.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from voiceconsole import __version__
from voiceconsole.errors import UserError

if TYPE_CHECKING:
    from voiceconsole.config import Settings

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("voiceconsole.commands.demo", "open the console on a bundled sample conversation (offline engine)"),
    "replay": ("voiceconsole.commands.replay", "replay a recording made with --record (see `voiceconsole replay --help`)"),
    "report": ("voiceconsole.commands.report", "print the turn-timing report of a recording"),
    "tap": ("voiceconsole.commands.tap", "watch your agent: forward its Cartesia websockets to Cartesia and show them"),
    "serve": ("voiceconsole.commands.serve", "an offline Cartesia on 127.0.0.1 (local engines) for your agent, watched"),
    "sweep": ("voiceconsole.commands.sweep", "tune turn detection on a corpus: cut-offs against latency over a grid"),
    "fetch-model": ("voiceconsole.commands.fetch_model", "put the Smart Turn model in the model cache (fetch-model smart-turn)"),
}

EPILOG = """\
subcommands:
  voiceconsole demo [--theme NAME]     open the console on a bundled sample conversation
  voiceconsole replay DIR [...]        replay a recording (voiceconsole replay --help)
  voiceconsole report DIR [...]        turn-timing report of a recording (voiceconsole report --help)
  voiceconsole tap [--upstream URL]    watch your own agent: point its Cartesia base URL at ws://127.0.0.1:8765
  voiceconsole serve                   the same endpoints answered offline (no key): development and CI
  voiceconsole sweep CORPUS... --grid SPEC   tune turn settings on many recordings (voiceconsole sweep --help)
  voiceconsole fetch-model smart-turn  put the Smart Turn v3.2 model in the model cache

examples:
  voiceconsole                                   talk into the default microphone (offline engine)
  voiceconsole --mic talk.wav                    a WAV file as the microphone, in real time
  voiceconsole --no-ui --mic talk.wav --fast --events -   headless, as fast as possible, events as JSON lines
  CARTESIA_API_KEY=... voiceconsole              Cartesia Ink-2 turns STT and sonic TTS

Without a Cartesia key every engine is the offline one (pocketsphinx, silero VAD, espeak-ng).
The config file (TOML, $VOICECONSOLE_CONFIG or ~/.config/voiceconsole/config.toml) takes the
long option names as keys, e.g.  stt = "local"  or  end-ms = 700.
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of the main command (subcommands have their own)."""
    p = argparse.ArgumentParser(
        prog="voiceconsole",
        description="A terminal console for voice agents: live transcript, turn-state timeline with "
        "millisecond timings, TTS queue, VU meters and barge-in.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("--version", action="version", version=f"voiceconsole {__version__}")

    io = p.add_argument_group("audio input and output")
    io.add_argument("--mic", metavar="FILE.wav|silence",
                    help="use a WAV file (any rate, mono or stereo) or 'silence' as the microphone; "
                    "default: the input device")
    io.add_argument("--speaker", metavar="OUT.wav|null|device",
                    help="write replies to a WAV file, discard them (null) or play them on the output "
                    "device; default: the device when there is one, else null")
    io.add_argument("--fast", action="store_true",
                    help="with --mic FILE: run on virtual time as fast as possible (deterministic)")
    io.add_argument("--input-device", metavar="INDEX|NAME",
                    help="input device by index or part of its name (see --list-devices)")
    io.add_argument("--output-device", metavar="INDEX|NAME",
                    help="output device by index or part of its name (see --list-devices)")
    io.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    io.add_argument("--block-ms", type=int, metavar="MS", help="audio block size in ms (default 20)")
    io.add_argument("--mute-while-speaking", action="store_true",
                    help="send silence instead of the mic while a reply plays (no echo cancellation)")
    io.add_argument("--aec", dest="aec", action="store_true",
                    help="cancel the bot's echo in the mic (WebRTC AEC3 from voiceconsole[aec]); "
                    "default: on when both the mic and the speaker are devices")
    io.add_argument("--no-aec", dest="aec", action="store_false", help="no echo cancellation")
    io.add_argument("--noise-suppression", action="store_true",
                    help="also suppress steady background noise in the mic (with echo cancellation)")
    io.add_argument("--no-barge-in", dest="barge_in", action="store_false",
                    help="do not interrupt a reply automatically when the user starts a turn")

    eng = p.add_argument_group("engines")
    eng.add_argument("--stt", choices=("auto", "local", "cartesia-turns", "cartesia-whisper"),
                     help="speech-to-text engine; auto = cartesia-turns with a key, else local")
    eng.add_argument("--tts", choices=("auto", "local", "cartesia"),
                     help="text-to-speech engine; auto = cartesia with a key, else local")
    eng.add_argument("--responder", metavar="echo|script:FILE|llm",
                     help="what the bot says: echo what it heard (default), one line of FILE per turn, or an "
                     "OpenAI-compatible LLM's streamed reply (needs voiceconsole[llm])")
    eng.add_argument("--api-key", metavar="KEY",
                     help="Cartesia API key (prefer CARTESIA_API_KEY or the config file: options show in ps)")
    eng.add_argument("--stt-url", metavar="URL", help="Cartesia STT base URL (default wss://api.cartesia.ai)")
    eng.add_argument("--tts-url", metavar="URL", help="Cartesia TTS base URL (default wss://api.cartesia.ai)")
    eng.add_argument("--stt-model", metavar="NAME", help="STT model (default ink-2 for turns, ink-whisper for whisper)")
    eng.add_argument("--tts-model", metavar="NAME", help="TTS model (default sonic-3)")
    eng.add_argument("--language", metavar="CODE", help="language, ISO 639-1 (default en)")
    eng.add_argument("--voice", metavar="ID", help="Cartesia voice id for sonic TTS")
    eng.add_argument("--stt-encoding", metavar="ENC", help="audio encoding sent to Cartesia STT (default pcm_s16le)")
    eng.add_argument("--stt-sample-rate", type=int, metavar="HZ", help="rate of audio sent to Cartesia STT (default 16000)")
    eng.add_argument("--tts-sample-rate", type=int, metavar="HZ", help="rate asked of Cartesia TTS (default 24000)")
    eng.add_argument("--keyterm", action="append", metavar="TERM",
                     help="Cartesia STT: a term to favour (names, jargon); repeat for more")
    eng.add_argument("--min-volume", type=float, metavar="X", help="ink-whisper: volume below which audio counts as silence")
    eng.add_argument("--max-silence-duration-secs", type=float, metavar="S",
                     help="ink-whisper: longest silence inside an utterance before it is finalised")
    eng.add_argument("--tts-speed", type=float, metavar="X", help="sonic generation_config speed (server default if unset)")
    eng.add_argument("--tts-volume", type=float, metavar="X", help="sonic generation_config volume (server default if unset)")
    eng.add_argument("--tts-emotion", metavar="NAME", help="sonic generation_config emotion, e.g. calm")
    eng.add_argument("--pronunciation-dict-id", metavar="ID", help="sonic pronunciation dictionary id")

    llm = p.add_argument_group("LLM responder (--responder llm; the key comes from OPENAI_API_KEY or the config file)")
    llm.add_argument("--llm-url", metavar="URL",
                     help="OpenAI-compatible base URL (default $OPENAI_BASE_URL or https://api.openai.com/v1; "
                     "Ollama: http://127.0.0.1:11434/v1, llama.cpp: http://127.0.0.1:8080/v1)")
    llm.add_argument("--llm-model", metavar="NAME", help="model name (default gpt-4o-mini)")
    llm.add_argument("--llm-system", metavar="TEXT|@FILE", help="system prompt, or @FILE to read it from a file")
    llm.add_argument("--llm-temperature", type=float, metavar="T", help="sampling temperature, 0-2 (default 0.7)")
    llm.add_argument("--llm-max-tokens", type=int, metavar="N", help="longest reply in tokens (default 300)")
    llm.add_argument("--llm-timeout", type=float, metavar="S",
                     help="fail a reply when no token arrives for S seconds (default 10)")
    llm.add_argument("--speculate", choices=("off", "llm", "llm+tts"),
                     help="on turn.eager_end start the LLM reply (llm) and its speech (llm+tts) before the turn "
                     "is final; thrown away on turn.resume (default llm)")

    turn = p.add_argument_group("turn detection (offline engine: durations; Cartesia Ink-2: thresholds)")
    turn.add_argument("--turn-start-ms", type=int, metavar="MS", help="speech needed to start a turn (default 160)")
    turn.add_argument("--eager-end-ms", type=int, metavar="MS", help="silence before turn.eager_end (default 200)")
    turn.add_argument("--end-ms", type=int, metavar="MS", help="silence before turn.end (default 800)")
    turn.add_argument("--max-turn-s", type=float, metavar="S", help="longest turn before it is ended (default 30)")
    turn.add_argument("--vad-threshold", type=float, metavar="P", help="speech probability threshold (default 0.5)")
    turn.add_argument("--turn-start-threshold", type=float, metavar="X", help="Ink-2 start threshold, 0.5-0.9 (default 0.8)")
    turn.add_argument("--turn-eager-end-threshold", type=float, metavar="X", help="Ink-2 eager end threshold, 0.3-0.6 (default 0.4)")
    turn.add_argument("--turn-end-threshold", type=float, metavar="X", help="Ink-2 end threshold, 0.05-0.5 (default 0.2)")
    turn.add_argument("--turn-end-timeout-ms", type=int, metavar="MS", help="Ink-2 end timeout, 640-11200 (default 5600)")
    turn.add_argument("--turn-detector", choices=("vad", "smart-turn"),
                      help="offline engine: end turns on silence (vad, default) or when Smart Turn v3.2 says "
                      "the turn is complete at a pause (smart-turn; needs voiceconsole[smart-turn])")
    turn.add_argument("--smart-turn-threshold", type=float, metavar="P",
                      help="P(turn complete) at which Smart Turn ends a turn (default 0.5)")

    out = p.add_argument_group("output and display")
    out.add_argument("--no-ui", action="store_true", help="run headless: print a summary, write events with --events")
    out.add_argument("--events", metavar="PATH|-", help="append every event as a JSON line to PATH, or stdout (-)")
    out.add_argument("--record", metavar="DIR", help="record the session (events, mic.wav, speaker.wav, meta.json) to DIR")
    out.add_argument("--theme", metavar="NAME", help="UI theme from themes/ (default dark)")
    out.add_argument("--config", dest="config_path", metavar="FILE", help="config file (default ~/.config/voiceconsole/config.toml)")
    return p


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Merge defaults, config file, environment and command line into Settings."""
    from pathlib import Path

    from voiceconsole.config import Settings, apply_values, default_config_path, load_config_file

    given = vars(args)
    settings = Settings()
    explicit = "config_path" in given
    config_path = Path(given["config_path"]) if explicit else default_config_path()
    apply_values(settings, load_config_file(config_path, explicit), str(config_path))
    env_key = os.environ.get("CARTESIA_API_KEY")
    if env_key:
        settings.api_key = env_key
    for env_name, field_name in (("OPENAI_API_KEY", "llm_api_key"), ("OPENAI_BASE_URL", "llm_url")):
        if os.environ.get(env_name):
            setattr(settings, field_name, os.environ[env_name])
    for name, value in given.items():
        if name != "list_devices":
            setattr(settings, name, value)
    return settings


def _run_subcommand(name: str, argv: list[str]) -> int:
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return int(module.main(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voiceconsole`` command; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in SUBCOMMANDS:
            return _run_subcommand(args_list[0], args_list[1:])
        args = build_parser().parse_args(args_list)
        if getattr(args, "list_devices", False):
            from voiceconsole.audio.devices import format_device_list

            print(format_device_list())
            return 0
        settings = settings_from_args(args)
        if settings.no_ui:
            from voiceconsole.session.headless import run_headless

            return run_headless(settings)
        from voiceconsole.commands.console import run_console

        return run_console(settings)
    except UserError as exc:
        print(f"voiceconsole: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("voiceconsole: interrupted", file=sys.stderr)
        return 130
