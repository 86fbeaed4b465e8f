"""What the two Cartesia STT engines share: the reconnecting socket, the audio streamer, the
turn settings and the endpoint URL (its query rebuilt at every connect, so a reconnect carries
the settings in force)."""

from __future__ import annotations

import random
from typing import Any

from voiceconsole.engines.base import Emit, TurnSettings
from voiceconsole.engines.cartesia.protocol import RetryPolicy, check_stt_encoding, endpoint_url
from voiceconsole.engines.cartesia.socket import CartesiaSocket, Timeouts
from voiceconsole.engines.cartesia.streamer import AudioStreamer
from voiceconsole.engines.turns import TurnSequencer


class CartesiaSttBase:
    """Base of the Cartesia STT engines; subclasses set ``name`` and ``path`` and give ``_query``."""

    name: str
    path: str

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str,
        encoding: str,
        sample_rate: int,
        turn_settings: TurnSettings | None,
        policy: RetryPolicy | None,
        timeouts: Timeouts | None,
        outage_buffer_s: float,
        idle_after_s: float,
        rng: random.Random | None,
    ) -> None:
        self.model = model
        self.encoding = check_stt_encoding(encoding)
        self.sample_rate = sample_rate
        self._base_url = base_url
        self._turn = turn_settings or TurnSettings()
        self._turn.validate()
        endpoint_url(base_url, self.path)  # a bad URL is a config error now, not at connect
        self.socket = CartesiaSocket(
            url=self._url, api_key=api_key, role="stt", engine=self.name, hooks=self,
            policy=policy, timeouts=timeouts, rng=rng,
        )
        self.streamer = AudioStreamer(
            self.socket, encoding=encoding, sample_rate=sample_rate,
            outage_buffer_s=outage_buffer_s, idle_after_s=idle_after_s,
        )
        self._emit: Emit | None = None
        self._turns: TurnSequencer | None = None
        self.keyterms: tuple[str, ...] = ()
        """Terms to favour, each sent as a ``keyterm`` query parameter (``--keyterm``)."""

    def _query(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    def _url(self) -> str:
        return endpoint_url(self._base_url, self.path, self._query())

    @property
    def settings(self) -> TurnSettings:
        """The turn settings in force."""
        return self._turn
