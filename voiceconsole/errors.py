"""Errors a user can act on: shown as one line, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or environment.

    The CLI prints ``str(error)`` as a single line and exits with ``exit_code``.
    The message must say what is wrong and what to do about it.
    """

    exit_code = 2
    reported: bool = False
    """True once the error has already been shown as an ``engine.error`` event (set by an
    engine that reported it itself), so the session does not show it twice."""

    def __init__(self, message: str) -> None:
        # Every line a user sees goes through here: no key, no control character reaches it.
        from voiceconsole.secrets import escape_controls, scrub

        super().__init__(escape_controls(scrub(" ".join(str(message).split()))))


class AudioFileError(UserError):
    """A WAV file that is missing, unreadable or in a format we cannot use."""


class DeviceError(UserError):
    """An audio device or the PortAudio library is missing or unusable."""


class ConfigError(UserError):
    """A bad option, config file or theme."""


class EngineUnavailable(UserError):
    """An engine cannot be used at all (bad key, server unreachable, model missing)."""

    exit_code = 1
