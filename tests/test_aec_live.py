"""Echo cancellation on real devices: the PulseAudio null sink whose monitor is the mic, so the
console hears everything it plays (the worst echo a laptop could have)."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.test_live_audio import SPEECH, Recorder, running, wait_for
from voiceconsole.events import (
    AecErle,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    TurnStart,
)

pytest.importorskip(
    "livekit.rtc", reason="echo cancellation needs: pip install 'voiceconsole[aec]'"
)

REPLY = "please hold while we try to connect you. your call cannot be completed as dialed. please try again later."


async def speak(aec: bool, *, talk_over: bool = False) -> tuple[object, Recorder]:
    """A live session on the default devices says REPLY (with ``talk_over`` a speech clip is
    played into the sink a second into it); returns the session and its recorder."""
    from voiceconsole.audio import open_devices
    from voiceconsole.audio.vad import ReferenceVad
    from voiceconsole.config import Settings
    from voiceconsole.engines.local_stt import LocalSttEngine
    from voiceconsole.engines.local_tts import LocalTtsEngine
    from voiceconsole.session.mic import plan_aec
    from voiceconsole.session.responder import EchoResponder
    from voiceconsole.session.session import Session

    settings = Settings()
    source, sink = open_devices.open_input(settings), open_devices.open_output(settings)
    stt = LocalSttEngine()
    plan = plan_aec(None if aec else False, False, source, sink, stt.sample_rate)
    assert plan.state == ("on" if aec else "off"), plan.detail
    session = Session(
        source=source,
        sink=sink,
        stt=stt,
        tts=LocalTtsEngine(),
        responder=EchoResponder(),
        reference_vad=ReferenceVad(),
        aec=plan,
    )
    rec = Recorder(session)
    rec.audio["mic_raw"] = []
    async with running(session):
        await wait_for(
            lambda: rec.device("input", "open") != [], "the input device to open"
        )
        await asyncio.sleep(0.5)
        session.say(REPLY)
        await wait_for(
            lambda: rec.of(PlaybackStarted) != [], "the reply to start playing"
        )
        if talk_over:
            await asyncio.sleep(1.5)
            player = await asyncio.create_subprocess_exec(
                "paplay", str(SPEECH), env={**os.environ}
            )
            await wait_for(
                lambda: (
                    rec.of(PlaybackInterrupted) != [] or rec.of(PlaybackFinished) != []
                ),
                "the reply to end",
            )
            player.terminate()
            await player.wait()
        else:
            await wait_for(
                lambda: rec.of(PlaybackFinished) != [], "the reply to finish"
            )
            await asyncio.sleep(1.0)
    return session, rec


async def test_without_aec_the_bots_own_reply_starts_a_false_turn(
    virtual_audio: str,
) -> None:
    _, rec = await speak(aec=False)
    assert rec.of(TurnStart), (
        "the reply played on the sink should come back through the mic as a turn"
    )


async def test_with_aec_the_same_reply_starts_no_turn_and_erle_is_reported(
    virtual_audio: str,
) -> None:
    _, rec = await speak(aec=True)
    assert not rec.of(TurnStart)
    assert rec.of(PlaybackFinished) and not rec.of(PlaybackInterrupted)
    erles = [e.erle_db for e in rec.of(AecErle)]  # type: ignore[attr-defined]
    assert erles and max(erles) >= 20.0, erles


async def test_with_aec_a_user_talking_over_the_reply_starts_a_turn_and_barges_in(
    virtual_audio: str,
) -> None:
    _, rec = await speak(aec=True, talk_over=True)
    assert rec.of(TurnStart)
    assert rec.of(PlaybackInterrupted)
