"""The conversation sent to the LLM, kept truthful: a reply cut by a barge-in keeps only the
words the user heard (from the playback position and the TTS word timings), as LiveKit and
Pipecat do.

Pure bookkeeping, no I/O. The session adds a user message and the assistant's reply when a
request is committed, the reply's text as it streams, the word timings as they arrive, and
finally how many seconds of the reply were played when it was cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceconsole.events import WordTiming


@dataclass
class _Reply:
    text: str = ""
    words: list[WordTiming] = field(default_factory=list)
    duration_s: float | None = None
    heard_s: float | None = None  # None: not cut (heard in full so far)


@dataclass
class _Exchange:
    user: str
    reply: _Reply = field(default_factory=_Reply)


class Conversation:
    """System prompt plus the committed exchanges, oldest first."""

    def __init__(self, system: str | None = None, max_exchanges: int = 50) -> None:
        self.system = system.strip() if system and system.strip() else None
        self.max_exchanges = max_exchanges
        self._exchanges: list[_Exchange] = []
        self._by_key: dict[int, _Exchange] = {}

    def messages(self, user_text: str | None = None) -> list[dict[str, str]]:
        """The chat messages: system, the exchanges so far, then ``user_text`` if given.

        An exchange whose reply was cut before any word was heard keeps its user message only.
        """
        out: list[dict[str, str]] = []
        if self.system:
            out.append({"role": "system", "content": self.system})
        for ex in self._exchanges:
            out.append({"role": "user", "content": ex.user})
            said = self.heard_text(ex.reply)
            if said:
                out.append({"role": "assistant", "content": said})
        if user_text is not None:
            out.append({"role": "user", "content": user_text})
        return out

    def add_exchange(self, key: int, user_text: str) -> None:
        """A committed request ``key`` (its request number) answering ``user_text``."""
        ex = _Exchange(user_text)
        self._exchanges.append(ex)
        self._by_key[key] = ex
        while len(self._exchanges) > self.max_exchanges:
            old = self._exchanges.pop(0)
            self._by_key = {k: v for k, v in self._by_key.items() if v is not old}

    def set_text(self, key: int, text: str) -> None:
        """The reply's text so far (or in full)."""
        ex = self._by_key.get(key)
        if ex is not None:
            ex.reply.text = text

    def add_words(self, key: int, words: tuple[WordTiming, ...]) -> None:
        """Word timings of the reply's audio (seconds from its first sample)."""
        ex = self._by_key.get(key)
        if ex is not None:
            ex.reply.words.extend(words)

    def set_duration(self, key: int, seconds: float) -> None:
        """The length of the reply's audio, once synthesized."""
        ex = self._by_key.get(key)
        if ex is not None:
            ex.reply.duration_s = seconds

    def cut(self, key: int, heard_s: float) -> None:
        """The reply was silenced after ``heard_s`` seconds of its audio played (0: unheard)."""
        ex = self._by_key.get(key)
        if ex is not None and ex.reply.heard_s is None:
            ex.reply.heard_s = max(0.0, heard_s)

    def heard(self, key: int) -> str:
        """What the user heard of reply ``key`` (all of it unless it was cut)."""
        ex = self._by_key.get(key)
        return self.heard_text(ex.reply) if ex is not None else ""

    @staticmethod
    def heard_text(reply: _Reply) -> str:
        """The words of ``reply`` that were played: those that started before the cut."""
        if reply.heard_s is None:
            return reply.text.strip()
        if reply.heard_s <= 0.0:
            return ""
        if reply.words:
            return " ".join(
                w.word for w in reply.words if w.start < reply.heard_s
            ).strip()
        # No word timings: the share of the words that matches the share of audio played.
        words = reply.text.split()
        if not reply.duration_s:
            return ""
        share = min(1.0, reply.heard_s / reply.duration_s)
        return " ".join(words[: int(len(words) * share)])
