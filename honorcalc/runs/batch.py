"""Many rounds, cities or parameter scenarios at once: each an independent run.

`run_batch` validates every parameter file first (a typo in the fortieth file
should not surface after thirty-nine reports), then runs each as its own
`honorcalc.runs.folder.run_report` — in local worker processes (``jobs``), or on a
Dask distributed cluster (``scheduler``: an address, or ``"local"`` for a
`LocalCluster` on loopback; Dask is the optional ``distributed`` part of
honorcalc). A task's run folder is the same as a local run's: the task is the
same function with the same inputs. One progress bar counts finished tasks.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..errors import HonorcalcError, InputError
from ..params import load_params

__all__ = ["BatchTask", "BatchOutcome", "run_batch", "plan_batch"]


@dataclass(frozen=True)
class BatchTask:
    params_file: str
    overrides: tuple[str, ...]
    out: str


@dataclass(frozen=True)
class BatchOutcome:
    task: BatchTask
    html: str | None
    error: str | None
    bad_input: bool

    @property
    def ok(self) -> bool:
        return self.error is None


def plan_batch(params_files, overrides=(), out="reports") -> list[BatchTask]:
    """One task per params file, after checking every file's parameters.

    Raises
    ------
    InputError
        The first params file that is not valid (missing, unknown keys, …).
    """
    tasks = []
    for path in params_files:
        load_params(path, overrides)  # fail fast, before any report runs
        tasks.append(BatchTask(str(Path(path).resolve()), tuple(overrides), str(Path(out).resolve())))
    if not tasks:
        raise InputError("batch needs at least one params file")
    return tasks


def _run_task(task: BatchTask) -> BatchOutcome:
    """Run one task; never raises, so one bad round does not stop the others."""
    from .folder import run_report

    try:
        result = run_report(task.params_file, task.overrides, out=task.out)
    except InputError as err:
        return BatchOutcome(task, None, str(err), True)
    except HonorcalcError as err:
        return BatchOutcome(task, None, str(err), False)
    return BatchOutcome(task, str(result.html), None, False)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="run", desc="honorcalc batch", disable=not enabled)


def run_batch(
    params_files,
    overrides=(),
    *,
    out="reports",
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> list[BatchOutcome]:
    """Run every params file; return one outcome per file, in the order given.

    Parameters
    ----------
    params_files : paths of params YAML files.
    overrides : ``key=value`` overrides applied to every file.
    out : reports folder.
    jobs : local worker processes (default: the number of CPUs); ignored with ``scheduler``.
    scheduler : ``None`` for local processes; ``"local"`` for a Dask `LocalCluster` on
        loopback with ``jobs`` workers; otherwise the address of a running Dask
        scheduler (``tcp://host:8786``). Either needs Dask distributed
        (``pip install 'honorcalc[distributed]'``).
    progress : show one progress bar.

    Raises
    ------
    InputError
        A params file is not valid, or, with ``scheduler``, Dask distributed is not
        installed or the scheduler cannot be reached; before any run.
    """
    tasks = plan_batch(params_files, overrides, out)
    jobs = max(1, jobs or os.cpu_count() or 1)
    outcomes: dict[int, BatchOutcome] = {}
    bar = _progress(len(tasks), progress)
    try:
        if scheduler is None:
            with ProcessPoolExecutor(max_workers=min(jobs, len(tasks))) as pool:
                futures = {pool.submit(_run_task, t): i for i, t in enumerate(tasks)}
                for future in as_completed(futures):
                    outcomes[futures[future]] = future.result()
                    bar.update(1)
        else:
            outcomes = _run_on_dask(tasks, scheduler, jobs, bar)
    finally:
        bar.close()
    return [outcomes[i] for i in range(len(tasks))]


def _run_on_dask(tasks: list[BatchTask], scheduler: str, jobs: int, bar) -> dict[int, BatchOutcome]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise InputError(
            "--scheduler runs on Dask distributed, an optional part of honorcalc that is not installed: "
            "pip install 'honorcalc[distributed]' (or run without --scheduler, in local processes)"
        ) from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    try:
        # pure=False: two tasks with equal arguments are still two runs (two run folders)
        futures = {client.submit(_run_task, t, pure=False): i for i, t in enumerate(tasks)}
        outcomes = {}
        for future in dask_completed(futures):
            outcomes[futures[future]] = future.result()
            bar.update(1)
        return outcomes
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
