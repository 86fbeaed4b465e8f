"""The ``voiceconsole`` subcommands (``demo``, ``replay``, ``report``): argument parsing and output.

Outside the core: these modules may import anything, and the core (audio, engines, session)
never imports them. Each subcommand module has ``main(argv) -> int``; :mod:`voiceconsole.cli`
imports it only when the subcommand runs.
"""
