"""``--through ENGINE [options]``: the command-line side of comparing engine configurations.

``--through`` may be given several times; the options after each one (up to the next
``--through`` or the first option it does not know) configure that run. The runs themselves
and the alignment of their turns are in :mod:`voiceconsole.session.compare`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from voiceconsole.errors import ConfigError
from voiceconsole.session.compare import THROUGH_ENGINES, ThroughConfig

# (option, type, metavar) of the options one --through run accepts.
_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("--turn-start-ms", int, "MS"),
    ("--eager-end-ms", int, "MS"),
    ("--end-ms", int, "MS"),
    ("--max-turn-s", float, "S"),
    ("--vad-threshold", float, "P"),
    ("--turn-start-threshold", float, "X"),
    ("--turn-eager-end-threshold", float, "X"),
    ("--turn-end-threshold", float, "X"),
    ("--turn-end-timeout-ms", int, "MS"),
    ("--turn-detector", str, "vad|smart-turn"),
    ("--smart-turn-threshold", float, "P"),
    ("--stt-model", str, "NAME"),
    ("--language", str, "CODE"),
)
THROUGH_OPTIONS: frozenset[str] = frozenset(name for name, _, _ in _OPTIONS)
"""The option names a ``--through`` run accepts."""

THROUGH_HELP = (
    "run the recorded mic.wav through another STT engine (" + ", ".join(THROUGH_ENGINES) + ") and compare "
    "turn timings; repeat for more configurations. Options after it apply to that run: --end-ms, "
    "--eager-end-ms, --turn-start-ms, --max-turn-s, --vad-threshold, --turn-start-threshold, "
    "--turn-eager-end-threshold, --turn-end-threshold, --turn-end-timeout-ms, --turn-detector, "
    "--smart-turn-threshold, --stt-model, --language"
)


class _BadThroughOption(Exception):
    """argparse rejected an option of a ``--through`` run."""


class _ThroughParser(argparse.ArgumentParser):
    """Raises instead of printing usage and exiting, so the error stays one line."""

    def error(self, message: str) -> NoReturn:
        raise _BadThroughOption(message)


def through_parser() -> argparse.ArgumentParser:
    """The options one ``--through ENGINE`` run accepts."""
    p = _ThroughParser(prog="--through ENGINE", add_help=False, argument_default=argparse.SUPPRESS)
    for name, kind, metavar in _OPTIONS:
        p.add_argument(name, type=kind, metavar=metavar)
    return p


def _is_through(arg: str) -> bool:
    return arg == "--through" or arg.startswith("--through=")


def split_through(argv: Sequence[str]) -> tuple[list[str], list[ThroughConfig]]:
    """Split ``argv`` into the main arguments and one :class:`ThroughConfig` per ``--through``."""
    main: list[str] = []
    configs: list[ThroughConfig] = []
    parser = through_parser()
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        if not _is_through(arg):
            main.append(arg)
            i += 1
            continue
        if arg.startswith("--through="):
            engine, i = arg.split("=", 1)[1], i + 1
        else:
            if i + 1 >= len(args):
                raise ConfigError("--through needs an engine name: " + ", ".join(THROUGH_ENGINES))
            engine, i = args[i + 1], i + 2
        if engine not in THROUGH_ENGINES:
            raise ConfigError(f"--through {engine}: unknown STT engine; choose one of {', '.join(THROUGH_ENGINES)}")
        own: list[str] = []
        # The run's options go up to the next --through or the first option it does not know.
        while i < len(args) and not _is_through(args[i]):
            if args[i].split("=", 1)[0] not in THROUGH_OPTIONS:
                break
            own.append(args[i])
            if "=" not in args[i] and i + 1 < len(args):
                own.append(args[i + 1])
                i += 1
            i += 1
        try:
            parsed, extra = parser.parse_known_args(own)
        except _BadThroughOption:
            raise ConfigError(f"--through {engine}: bad option in {' '.join(own)}; see `voiceconsole replay --help`") from None
        if extra:
            raise ConfigError(f"--through {engine}: unknown option {extra[0]}; see `voiceconsole replay --help`")
        configs.append(ThroughConfig(engine, vars(parsed)))
    return main, configs
