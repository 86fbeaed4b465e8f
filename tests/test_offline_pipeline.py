"""Issue 2 acceptance end to end: the whole offline session (file -> resample -> reference VAD ->
local STT -> echo -> espeak-ng -> sink) on the human-speech fixture, in virtual time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_local_stt import MAX_WER, word_errors
from voiceconsole.config import Settings
from voiceconsole.events import Event
from voiceconsole.session.build import build_session

DATA = Path(__file__).parent / "data"
MANIFEST = json.loads((DATA / "speech_turns.json").read_text())


@pytest.fixture(scope="module")
def events() -> list[Event]:
    import asyncio

    async def run() -> list[Event]:
        session = build_session(Settings(mic=str(DATA / "speech_turns.wav"), fast=True, speaker="null"))
        collected: list[Event] = []
        session.bus.add_listener(collected.append)
        await session.run()
        return collected

    return asyncio.run(run())


def turn_types(events: list[Event]) -> dict[int, list[str]]:
    per_turn: dict[int, list[str]] = {}
    for e in events:
        if e.type.startswith("turn.") and e.type != "turn.config":
            per_turn.setdefault(e.turn, []).append(e.type)
    return per_turn


def test_one_turn_end_per_long_pause_and_each_turn_well_ordered(events: list[Event]) -> None:
    per_turn = turn_types(events)
    assert len(per_turn) == len(MANIFEST["turns"]) == 3
    for kinds in per_turn.values():
        assert kinds[0] == "turn.start" and kinds[-1] == "turn.end"
        assert kinds.count("turn.start") == 1 and kinds.count("turn.end") == 1
        # every resume follows an eager end
        for i, kind in enumerate(kinds):
            if kind == "turn.resume":
                assert kinds[i - 1] == "turn.eager_end"


def test_short_pause_gives_eager_end_then_resume(events: list[Event]) -> None:
    per_turn = turn_types(events)
    short = [i + 1 for i, t in enumerate(MANIFEST["turns"]) if t["short_pauses"]]
    assert short == [2]
    kinds = per_turn[2]
    i = kinds.index("turn.eager_end")
    assert kinds[i + 1] == "turn.resume"
    assert "turn.resume" not in per_turn[1] and "turn.resume" not in per_turn[3]


def test_final_transcripts_reach_word_accuracy(events: list[Event]) -> None:
    finals = [e.transcript for e in events if e.type == "turn.end"]
    expected = [t["text"] for t in MANIFEST["turns"]]
    reference = " ".join(expected)
    wer = word_errors(reference, " ".join(finals)) / len(reference.split())
    assert wer <= MAX_WER, (finals, wer)


def test_turn_end_comes_after_the_configured_silence(events: list[Event]) -> None:
    end_silence = Settings().end_ms / 1000
    ends = [e for e in events if e.type == "turn.end"]
    for end, turn in zip(ends, MANIFEST["turns"]):
        earliest = turn["speech_end_s"] + end_silence
        assert earliest <= end.audio_t <= earliest + 0.300, (end.audio_t, earliest)


def test_every_turn_is_answered_by_the_echo_voice(events: list[Event]) -> None:
    queued = [e for e in events if e.type == "tts.queued"]
    finals = [e for e in events if e.type == "turn.end"]
    assert [q.text for q in queued] == [f.transcript for f in finals]
    assert all(q.origin == "responder" for q in queued)
    # The fixture's pauses are shorter than the replies: the next turn barges in on them.
    assert len([e for e in events if e.type == "playback.interrupt"]) == 2
    assert any(e.type == "playback.finish" for e in events)
    speech = [e for e in events if e.type in ("vad.speech_start", "vad.speech_stop")]
    assert len(speech) >= 8
