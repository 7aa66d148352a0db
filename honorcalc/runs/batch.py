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

import multiprocessing
import os
import signal
import threading
import time
import uuid
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


#: Whether this worker process is running a task now (see `_worker_terminated`).
_running = threading.Event()

#: Seconds a stopped worker is given to remove its unfinished run folder and kernel.
_GRACE_SECONDS = 30


#: Whether this worker process was told to stop: it starts no further task.
_stopping = threading.Event()


def _worker_terminated(signum, frame) -> None:
    """SIGTERM or SIGINT in a worker: a run under way unwinds like Ctrl-C (its folder and kernel go); an idle worker ends."""
    _stopping.set()
    if _running.is_set():
        raise KeyboardInterrupt
    os._exit(128 + signum)


def _start_worker(parent: int) -> None:
    """Prepare a local worker: stop on SIGTERM, and stop when the batch that started it is gone.

    A batch killed outright (SIGKILL) cannot stop its workers; each notices that
    its parent changed and stops itself rather than run on for ever.
    """
    signal.signal(signal.SIGTERM, _worker_terminated)
    signal.signal(signal.SIGINT, _worker_terminated)  # Ctrl-C reaches the workers too

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(_GRACE_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="honorcalc-parent-watch").start()


def _stop_workers(pool: ProcessPoolExecutor, workers: list) -> None:
    """Cancel the queued tasks and end the workers, each given time to clean up its run."""
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + _GRACE_SECONDS
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()


def _run_task(task: BatchTask) -> BatchOutcome:
    """Run one task; never raises, so one bad round does not stop the others.

    An unexpected error (a bug) is this task's outcome too, named by its type, so
    that the other runs finish and the batch reports it on the task's own line.
    """
    from .folder import run_report

    if _stopping.is_set():  # a task already handed to this worker when the batch was stopped
        return BatchOutcome(task, None, "not run: the batch was interrupted", False)
    _running.set()
    try:
        result = run_report(task.params_file, task.overrides, out=task.out)
    except InputError as err:
        return BatchOutcome(task, None, str(err), True)
    except HonorcalcError as err:
        return BatchOutcome(task, None, str(err), False)
    except Exception as exc:
        return _unexpected(task, exc)
    finally:
        _running.clear()
        if _stopping.is_set() and threading.current_thread() is threading.main_thread():
            # a stopped local worker: its run has unwound (folder and kernel removed); it ends now,
            # rather than wait out the grace its watcher gives it
            os._exit(128 + signal.SIGTERM)
    return BatchOutcome(task, str(result.html), None, False)


def _unexpected(task: BatchTask, exc: BaseException) -> BatchOutcome:
    """The outcome of a task that failed with an error honorcalc did not foresee (a bug, a lost worker)."""
    detail = str(exc).strip().splitlines()
    return BatchOutcome(task, None, f"unexpected error: {type(exc).__name__}"
                        + (f": {detail[0]}" if detail else ""), False)


def _outcome(future, task: BatchTask) -> BatchOutcome:
    """A finished future's outcome; a worker that died or could not run the task fails this task only."""
    try:
        return future.result()
    except Exception as exc:
        return _unexpected(task, exc)


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
            outcomes = _run_locally(tasks, jobs, bar)
        else:
            outcomes = _run_on_dask(tasks, scheduler, jobs, bar)
    finally:
        bar.close()
    return [outcomes[i] for i in range(len(tasks))]


def _run_locally(tasks: list[BatchTask], jobs: int, bar) -> dict[int, BatchOutcome]:
    """Run the tasks in local worker processes.

    Interrupted (Ctrl-C, or SIGTERM turned into `KeyboardInterrupt` by the
    command), no queued task starts: the workers are ended, each run under way
    removing its unfinished folder, and the interruption goes on up.
    """
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=_start_worker,
                               initargs=(os.getpid(),))
    outcomes: dict[int, BatchOutcome] = {}
    try:
        futures = {pool.submit(_run_task, t): i for i, t in enumerate(tasks)}
        for future in as_completed(futures):
            outcomes[futures[future]] = _outcome(future, tasks[futures[future]])
            bar.update(1)
    except BaseException:
        _stop_workers(pool, [w for w in multiprocessing.active_children() if w not in before])
        raise
    pool.shutdown()
    return outcomes


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
    from dask.distributed import Event

    stop = Event(f"honorcalc-stop-{uuid.uuid4().hex}", client=client)
    futures = {}
    try:
        # pure=False: two tasks with equal arguments are still two runs (two run folders)
        futures = {client.submit(_run_dask_task, t, stop.name, pure=False): i for i, t in enumerate(tasks)}
        outcomes = {}
        for future in dask_completed(futures):
            outcomes[futures[future]] = _outcome(future, tasks[futures[future]])
            bar.update(1)
        return outcomes
    except BaseException:
        _stop_dask_tasks(client, stop, list(futures))
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _stop_dask_tasks(client, stop, futures) -> None:
    """Interrupted: no queued task starts, and each running task unwinds as a local run does on Ctrl-C.

    The queued tasks are cancelled; the running ones see ``stop`` set (`_run_dask_task`) and stop,
    removing their unfinished run folder and kernel; they are given `_GRACE_SECONDS` to.
    """
    from dask.distributed import wait

    try:
        stop.set()
        client.cancel([f for f in futures if f.status == "pending"], force=True)
        running = [f for f in futures if f.status == "pending"]
        if running:
            wait(running, timeout=_GRACE_SECONDS)
        client.cancel(futures, force=True)
    except Exception:  # noqa: BLE001 - a scheduler already gone has nothing left to stop
        pass


#: How often a task on a Dask worker looks whether its batch was stopped, in seconds.
_STOP_POLL_SECONDS = 0.5


def _run_dask_task(task: BatchTask, stop_name: str) -> BatchOutcome:
    """`_run_task` on a Dask worker, stopped when its batch is interrupted.

    A Dask worker runs a task in a thread, which no signal reaches: a watcher
    thread waits on the batch's stop `Event` and, when it is set, raises
    `KeyboardInterrupt` in the task's thread, which then unwinds as a local run
    does on Ctrl-C (its unfinished run folder and its kernel are removed).
    """
    import ctypes

    from dask.distributed import Event, get_client

    if Event(stop_name, client=get_client()).is_set():
        return BatchOutcome(task, None, "not run: the batch was interrupted", False)
    target = threading.get_ident()
    done = threading.Event()

    def watch() -> None:
        event = Event(stop_name, client=get_client())
        while not done.is_set():
            try:
                if event.wait(timeout=_STOP_POLL_SECONDS):
                    break
            except Exception:  # noqa: BLE001 - the scheduler is gone: the batch is over
                break
        else:
            return
        if not done.is_set():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(KeyboardInterrupt))

    watcher = threading.Thread(target=watch, daemon=True, name="honorcalc-batch-stop")
    watcher.start()
    try:
        return _run_task(task)
    finally:
        done.set()
