"""voiceconsole benchmarks: ``python -m benchmarks`` measures the real code paths and prints a
table (median, p95, max, each beside its target) and writes the same as JSON.

Each benchmark is a module with ``run(quick: bool) -> list[Figure]``, run in its own child
process so that memory, CPU time and imports of one never colour another.
"""
