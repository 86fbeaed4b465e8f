"""The event bus: every event goes to every subscriber, in order."""

from __future__ import annotations

import logging
from collections.abc import Callable

from voiceconsole.events import Event

Listener = Callable[[Event], None]

log = logging.getLogger(__name__)


class EventBus:
    """Fans events out to synchronous listeners.

    Listeners are called in subscription order on the event loop and must be quick (append to
    a file, post a UI message). A listener that raises is reported once and removed, so a faulty
    consumer cannot stop the session.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.history_count = 0

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every listener."""
        self.history_count += 1
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed and was removed", listener)
                self.remove_listener(listener)
