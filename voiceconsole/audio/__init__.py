"""Audio sources, sinks, resampling, levels and voice activity detection (no UI code)."""
