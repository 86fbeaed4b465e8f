"""Cartesia-compatible endpoints on loopback, so any agent shows up in the console.

- :mod:`.routes`: the upgrade request (paths, query checks, structured errors), sans I/O;
- :mod:`.server`: the websocket server and its :class:`~.server.Backend` protocol;
- :mod:`.tap`: forwarding to the real service; :mod:`.offline`, :mod:`.offline_stt`,
  :mod:`.offline_tts`: answering with the offline engines;
- :mod:`.watch`, :mod:`.watch_tts`, :mod:`.hub`: each connection as a console session
  (events, recording); :mod:`.runner`: the ``tap`` and ``serve`` commands' shared run.

Core code: no textual import (the console for it lives in :mod:`voiceconsole.ui.sessions`).
"""
