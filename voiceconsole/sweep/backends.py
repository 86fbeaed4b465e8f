"""Where the runs of a sweep execute: in this process, a local process pool, or a Ray cluster.

Each backend takes the same :class:`~voiceconsole.sweep.runner.Task` list, calls the same
:func:`~voiceconsole.sweep.runner.run_task`, and hands every result (facts, or the one-line
error of a run that failed) to ``on_result`` in this process as soon as it finishes, so the
caller caches it and moves the progress bar. The results are the same whatever the backend.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from voiceconsole.errors import ConfigError, UserError
from voiceconsole.sweep.runner import Task, run_task

OnResult = Callable[[Task, "dict[str, Any] | str"], None]
"""Called with a task and its facts, or a one-line error message."""

RAY_INSTALL = "pip install 'voiceconsole[ray]'  (or: pip install ray)"


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _safe_run(task: Task) -> dict[str, Any] | str:
    try:
        return run_task(task)
    except Exception as exc:  # noqa: BLE001 - one bad recording must not stop the sweep
        return _error_line(exc)


def _safe_run_shipped(task: Task, audio: bytes | None) -> dict[str, Any] | str:
    """A Ray task: ``audio`` comes from the object store, put there once per recording."""
    return _safe_run(task if audio is None else dataclasses.replace(task, audio=audio))


def run_serial(tasks: Sequence[Task], on_result: OnResult) -> None:
    """Every task in this process, one after another."""
    for task in tasks:
        on_result(task, _safe_run(task))


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_pool(
    tasks: Sequence[Task], on_result: OnResult, workers: int | None = None
) -> None:
    """A local process pool (``spawn``: fresh interpreters, as Ray's workers are)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    if not tasks:
        return
    count = min(workers or default_workers(), len(tasks))
    if count <= 1:
        run_serial(tasks, on_result)
        return
    with ProcessPoolExecutor(
        max_workers=count, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        pending = {pool.submit(_safe_run, task): task for task in tasks}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    on_result(task, future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs the ray package: {RAY_INSTALL}") from None
    return ray


def ray_available() -> None:
    """Raise ConfigError with the install command when ray is missing."""
    _ray_module()


REACH_TIMEOUT_S = 5.0
"""How long :func:`check_reachable` waits for a cluster's port to answer (Ray itself keeps
retrying an unreachable address for minutes)."""


def check_reachable(address: str) -> None:
    """Raise ConfigError in one line when ``address`` (``host:port`` or ``ray://host:port``)
    does not accept a connection; ``auto`` and other forms are left to Ray."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"--ray {address}: cannot reach a Ray cluster there ({reason}); check the address and that the cluster runs"
        ) from None


def run_ray(
    tasks: Sequence[Task],
    on_result: OnResult,
    address: str | None = None,
    workers: int | None = None,
) -> None:
    """The same tasks as Ray tasks; results gathered as they finish.

    ``address`` ``None`` starts a local Ray instance (``ray.init()``) with ``workers`` CPUs;
    otherwise it is a cluster's address (``auto``, ``ray://host:10001``, ``host:6379``). The
    voiceconsole package is shipped to the workers (``runtime_env`` ``py_modules``); its
    dependencies must be installed on every node. Audio shipped in a task travels with it;
    otherwise each node reads the recordings from the same path (a shared file system).
    """
    ray = _ray_module()
    import voiceconsole

    package = str(Path(voiceconsole.__file__).resolve().parent)
    runtime_env: dict[str, Any] = {}
    if address is None:
        # A local instance: workers import the package from where this process does.
        runtime_env["env_vars"] = {
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(Path(package).parent), os.environ.get("PYTHONPATH")])
            )
        }
    else:
        runtime_env["py_modules"] = [package]
    started = not ray.is_initialized()
    if started and address is not None:
        check_reachable(address)
    if started:
        try:
            ray.init(
                address=address,
                num_cpus=(workers or default_workers()) if address is None else None,
                runtime_env=runtime_env,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
            )
        except Exception as exc:  # noqa: BLE001 - ray raises ConnectionError, RuntimeError, ValueError...
            raise ConfigError(
                f"--ray {address or '(local)'}: cannot start or reach Ray ({_error_line(exc)}); check the address"
            ) from None
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_safe_run_shipped)
        shipped: dict[
            str, Any
        ] = {}  # recording -> its audio in the object store, put once
        pending = {}
        for task in tasks:
            audio = None
            if task.audio is not None:
                audio = shipped.get(task.recording)
                if audio is None:
                    audio = shipped[task.recording] = ray.put(task.audio)
            pending[remote.remote(dataclasses.replace(task, audio=None), audio)] = task
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a worker that died
                    result = _error_line(exc)
                on_result(task, result)
    finally:
        if started:
            ray.shutdown()
