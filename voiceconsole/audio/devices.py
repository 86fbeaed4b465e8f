"""Audio devices through PortAudio (``sounddevice``): loading PortAudio, listing and choosing devices.

``sounddevice`` is imported lazily: without the PortAudio library the import raises ``OSError``,
and file input and output must still work. Every problem becomes a one-line
:class:`~voiceconsole.errors.DeviceError` that says what to do.

PortAudio reads the device list once, when it is loaded (the first device use in a process);
sounddevice has no public way to read it again, so a device or audio server that appears later
is seen by the next run. A device lost mid-session needs no new list: the workers reopen it by
the same index.

The workers (capture and playback) are in :mod:`voiceconsole.audio.streams` and the modules it
gathers, which import this module (never the other way round);
:mod:`voiceconsole.audio.open_devices` opens them on the device the settings choose.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from voiceconsole.errors import DeviceError

Kind = Literal["input", "output"]

PORTAUDIO_PACKAGE = "libportaudio2"
NO_SERVER = "(is an audio server running?)"

PA_LOCK = threading.RLock()
"""Serializes PortAudio's non-real-time calls (open, start, close, queries) across threads."""


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_rate: int

    def channels(self, kind: Kind) -> int:
        """How many channels the device offers for ``kind``."""
        return self.max_input_channels if kind == "input" else self.max_output_channels


def load_sounddevice() -> ModuleType:
    """Import ``sounddevice``; a missing PortAudio library becomes a one-line DeviceError."""
    try:
        import sounddevice
    except (OSError, ImportError) as exc:
        raise DeviceError(
            f"audio devices unavailable: PortAudio not found ({exc}); install it "
            f"(apt-get install {PORTAUDIO_PACKAGE}) or use --mic FILE.wav --speaker OUT.wav|null"
        ) from None
    _quiet_alsa()
    return sounddevice


_alsa_handler: object = None


def _quiet_alsa() -> None:
    """Stop alsa-lib printing to stderr (e.g. "underrun occurred"), which would tear the UI.

    Underruns are counted and reported as ``audio.xrun`` events instead."""
    global _alsa_handler
    if _alsa_handler is not None:
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if name is None:
        _alsa_handler = False
        return
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        _alsa_handler = False
        return
    # void handler(const char *file, int line, const char *func, int err, const char *fmt, ...)
    prototype = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
    _alsa_handler = prototype(lambda *_: None)
    lib.snd_lib_error_set_handler(_alsa_handler)


def list_devices() -> list[DeviceInfo]:
    """Every device PortAudio knows."""
    sd = load_sounddevice()
    with PA_LOCK:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
    return [
        DeviceInfo(
            index=int(d["index"]),
            name=str(d["name"]),
            hostapi=str(hostapis[d["hostapi"]]["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_rate=int(round(float(d["default_samplerate"]))),
        )
        for d in raw
    ]


def default_indices() -> tuple[int, int]:
    """PortAudio's default (input, output) device indices; -1 where there is none."""
    sd = load_sounddevice()
    with PA_LOCK:
        pair = sd.default.device
    return int(pair[0]), int(pair[1])


def refresh_devices() -> bool:
    """Have PortAudio read the device list now if it has not read it yet; True when it did.

    Call it once the audio server is up (e.g. right after starting one), so the list is read
    while the server answers. Once PortAudio is loaded its list stays the one read then (see the
    module docstring) and this returns False."""
    if sys.modules.get("sounddevice") is not None:
        return False
    load_sounddevice()
    return True


def format_device_list() -> str:
    """The ``--list-devices`` table: index, name, channels, default rate, defaults marked."""
    devices = list_devices()
    if not devices:
        return f"no audio devices found {NO_SERVER}; use --mic FILE.wav"
    default_in, default_out = default_indices()
    width = max(len(f"{d.name} ({d.hostapi})") for d in devices)
    lines = [f"{'#':>3}  {'name':<{width}}  {'in':>3}  {'out':>3}  {'rate':>6}  default"]
    for d in devices:
        marks = [m for m, i in (("input", default_in), ("output", default_out)) if i == d.index]
        label = f"{d.name} ({d.hostapi})"
        lines.append(
            f"{d.index:>3}  {label:<{width}}  {d.max_input_channels:>3}  {d.max_output_channels:>3}  "
            f"{d.default_rate:>6}  {', '.join(marks)}".rstrip()
        )
    return "\n".join(lines)


def find_device(spec: str | None, kind: Kind) -> DeviceInfo:
    """The device to use for ``kind``: by index, by part of its name, or (None) the default."""
    devices = list_devices()
    usable = [d for d in devices if d.channels(kind) > 0]
    option = f"--{kind}-device"
    fallback = "--mic FILE.wav" if kind == "input" else "--speaker OUT.wav or null"
    if not usable:
        raise DeviceError(f"no audio {kind} device found {NO_SERVER}; use {fallback}")
    choices = "; ".join(f"{d.index} {d.name!r}" for d in usable)
    if spec is None or spec == "":
        default = default_indices()[0 if kind == "input" else 1]
        for d in usable:
            if d.index == default:
                return d
        return usable[0]
    text = str(spec).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        for d in usable:
            if d.index == index:
                return d
        raise DeviceError(f"{option} {text}: no {kind} device has that index; choices: {choices}")
    needle = text.lower()
    exact = [d for d in usable if d.name.lower() == needle]
    if exact:
        return exact[0]
    matches = [d for d in usable if needle in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceError(f"{option} {text!r} matches no {kind} device; choices: {choices}")
    several = "; ".join(f"{d.index} {d.name!r}" for d in matches)
    raise DeviceError(f"{option} {text!r} matches several {kind} devices ({several}); give the index")


__all__ = [
    "DeviceInfo",
    "PA_LOCK",
    "default_indices",
    "find_device",
    "format_device_list",
    "list_devices",
    "load_sounddevice",
    "refresh_devices",
]
