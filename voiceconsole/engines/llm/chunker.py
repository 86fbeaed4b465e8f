"""Cutting streamed tokens into pieces to speak: sentences, or clauses when they run long.

Sans I/O: :meth:`TextChunker.feed` takes each token and returns the pieces it completed;
:meth:`TextChunker.flush` returns the rest at the end. The pieces' concatenation is exactly the
text fed, so word timings and the heard text line up with what the LLM wrote.
"""

from __future__ import annotations

import re

_PIECE_END = re.compile(r"([.!?\u2026\u3002\uff01\uff1f]+|[,;:]+)[\"')\]]*\s+")


class TextChunker:
    """Incremental sentence/clause splitter for one reply.

    A piece ends after punctuation and the whitespace that follows it: after a sentence once the
    piece has ``min_sentence_chars``, after a clause (``,;:``) once it has ``min_clause_chars``.
    The first piece may end at a clause sooner (``first_clause_chars``) so speech starts early.
    """

    def __init__(
        self,
        min_sentence_chars: int = 12,
        min_clause_chars: int = 40,
        first_clause_chars: int = 20,
    ) -> None:
        self.min_sentence_chars = min_sentence_chars
        self.min_clause_chars = min_clause_chars
        self.first_clause_chars = first_clause_chars
        self._buf = ""
        self._scan = 0  # where the next punctuation search starts in _buf
        self._emitted = 0

    def feed(self, token: str) -> list[str]:
        """Add a token; return the pieces it completed (often none)."""
        self._buf += token
        pieces: list[str] = []
        start = 0
        # Look back a little: punctuation may have arrived before the whitespace that ends it.
        for match in _PIECE_END.finditer(self._buf, max(0, self._scan - 8)):
            if match.start() < start:
                continue
            clause = match.group(1)[0] in ",;:"
            if clause:
                need = (
                    self.first_clause_chars
                    if self._emitted == 0 and not pieces
                    else self.min_clause_chars
                )
            else:
                need = self.min_sentence_chars
            if match.end() - start >= need:
                pieces.append(self._buf[start : match.end()])
                start = match.end()
        if start:
            self._buf = self._buf[start:]
        self._scan = len(self._buf)
        self._emitted += len(pieces)
        return pieces

    def flush(self) -> list[str]:
        """The text left at the end of the reply (one piece, or none)."""
        rest, self._buf, self._scan = self._buf, "", 0
        if rest.strip():
            self._emitted += 1
            return [rest]
        return []
