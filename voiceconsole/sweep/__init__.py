"""Tuning turn detection on a corpus: ``voiceconsole sweep``.

Every (recording, grid point) pair runs the recording's mic audio through an STT engine with
that point's turn settings (as ``replay --through`` does), on a local process pool or a Ray
cluster; the turn ends are scored against labels or a stated proxy, and each grid point gets its
end-of-turn delay, cut-off rate and eager resumes, with the Pareto frontier and eot-bench's
fixed-rate figures. Modules: :mod:`~voiceconsole.sweep.grid` (the ``--grid`` spec),
:mod:`~voiceconsole.sweep.corpus` (what to run), :mod:`~voiceconsole.sweep.runner` (one run and
its facts), :mod:`~voiceconsole.sweep.cache` (finished runs on disk),
:mod:`~voiceconsole.sweep.backends` (serial, pool, Ray), :mod:`~voiceconsole.sweep.truth`
(labels and proxy), :mod:`~voiceconsole.sweep.results` (scores, frontier, interpolation),
:mod:`~voiceconsole.sweep.report` (table, curve, JSON, CSV). Nothing here imports textual.
"""
