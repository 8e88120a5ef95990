"""Sweep executors: run chunks of cells in this process, on a local process pool, or on a Dask cluster.

``serial`` (in process), ``local`` (a process pool over local cores, the default) and ``dask``
(``distributed.Client`` on a scheduler address, or a client you pass in). They all return results in chunk order.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any, Protocol

from sim.sweep_cell import CellResult, run_cells
from sim.sweep_spec import SweepError, SweepSpec

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "Progress", "SerialExecutor", "make_executor"]

Progress = Callable[[int], None]
"""Called with the number of cells in each chunk as it finishes."""


class Executor(Protocol):
    """Runs chunks of cells and returns their results in chunk order, reporting progress as chunks finish."""

    name: str

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Return ``run_cells(spec, chunk, engine)`` for every chunk, in order; call ``progress(cells)`` as they end."""
        ...


class SerialExecutor:
    """Runs every chunk in this process (tests, debugging, tiny sweeps)."""

    name = "serial"

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Run the chunks one after the other."""
        out = []
        for chunk in chunks:
            out.append(run_cells(spec, chunk, engine))
            progress(len(chunk))
        return out


class LocalExecutor:
    """A pool of ``workers`` local processes (``spawn``; default: every core)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Run the chunks on the pool; results come back in chunk order."""
        out: list[list[CellResult] | None] = [None] * len(chunks)
        with ProcessPoolExecutor(
            max_workers=self.workers, mp_context=get_context("spawn"), initializer=keep_freed_memory
        ) as pool:
            futures = {pool.submit(run_cells, spec, list(chunk), engine): k for k, chunk in enumerate(chunks)}
            for future in as_completed(futures):
                k = futures[future]
                out[k] = future.result()
                progress(len(chunks[k]))
        return [x for x in out if x is not None]


M_TRIM_THRESHOLD = -1
"""glibc's ``mallopt`` parameter: how much free memory at the top of the heap ``free`` keeps before returning it."""


def keep_freed_memory(threshold: int = 64 << 20) -> bool:
    """Let this process keep up to ``threshold`` bytes of freed heap instead of returning it to the kernel (glibc
    ``mallopt(M_TRIM_THRESHOLD)``); return whether it was set. The local pool runs it in every worker.

    A sweep cell allocates and frees about 2 MB of arrays (10,000 activations × 25 columns). With glibc's default
    (128 KiB) the freed top of the heap goes back to the kernel after each cell and the next cell page-faults it in
    again: measured on a 10,000 × 10,000 sweep, about 1 ms of system time per cell, as much as the cell's own work.
    Elsewhere (not Linux, no ``mallopt``) nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, threshold))


class DaskExecutor:
    """Runs the chunks on a Dask cluster: a ``distributed.Client`` you pass, or one connected to ``scheduler``."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, client: Any = None) -> None:
        if client is None and not scheduler:
            raise SweepError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        self.scheduler = scheduler
        self.client = client

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Submit every chunk to the cluster and gather the results in chunk order."""
        import distributed

        dask: Any = distributed  # untyped library

        own = self.client is None
        try:
            client = self.client if self.client is not None else dask.Client(self.scheduler, timeout="10s")
        except OSError as exc:
            raise SweepError(f"--scheduler {self.scheduler}: cannot reach the Dask scheduler ({exc})") from None
        try:
            futures = [client.submit(run_cells, spec, list(chunk), engine, pure=False) for chunk in chunks]
            position = {f.key: k for k, f in enumerate(futures)}
            out: list[list[CellResult] | None] = [None] * len(chunks)
            for future in dask.as_completed(futures):
                k = position[future.key]
                out[k] = future.result()
                progress(len(chunks[k]))
            return [x for x in out if x is not None]
        finally:
            if own:
                client.close()


def make_executor(name: str, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """Return the executor called ``name`` (``local``, ``serial`` or ``dask``); errors name ``--executor``."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "serial":
        return SerialExecutor()
    if name == "dask":
        return DaskExecutor(scheduler)
    raise SweepError(f"--executor: {name!r} is not an executor; use local, serial or dask")
