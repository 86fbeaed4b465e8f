"""The ``llm`` responder's parts: an OpenAI-compatible streaming client, the text chunker that
cuts tokens into speakable pieces, and the conversation history that keeps only heard words."""
