"""Running a long job's work items: in this process, in local worker processes, or on Ray actors.

Every long job (scoring, reduced training, search runs) hands its items to `execute`,
which yields `(index of the item, result)` as results complete; the caller alone
writes its journal and puts results in its own order, so the backend, the number of
workers and the completion order never change a result.

A job is two module-level functions (picklable by name): `setup(shared)`, a context
manager entered once per worker process (torch threads, data on the device), whose
value `run(state, item)` reads for every item. In this process the context is left
when the job ends, so that the caller's settings are restored.
"""

import functools
import multiprocessing
import os
import signal
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterable, Iterator, Sequence

import torch
from tqdm.auto import tqdm

from .errors import INTERRUPTED, ZcnasError, check_positive_integer, choice_error

BACKENDS = ("local", "ray")
# How often a local worker checks that its driver is alive: a killed driver's workers stop within it.
ORPHAN_CHECK_SECONDS = 0.5
# Work submitted ahead of its results, per local worker or Ray actor (both backends keep
# such a window): enough to keep every worker busy, few enough that waiting on it stays
# cheap and flat in the number of items (bench/scaling.py, part overhead).
LOCAL_IN_FLIGHT_PER_WORKER = 4
RAY_IN_FLIGHT_PER_ACTOR = 2
# A call to a Ray actor costs the driver about a millisecond: a job of more than
# RAY_CHUNKED_FROM items sends them in chunks of up to RAY_CHUNK items per call.
RAY_CHUNKED_FROM = 1000
RAY_CHUNK = 16
# Seconds to wait for a Ray head's port before giving up on it.
RAY_CONNECT_SECONDS = 10.0
# Seconds ray.init may take: a head whose advertised node address this machine cannot
# reach makes Ray retry for ever.
RAY_INIT_SECONDS = 60.0
# Seconds a head may stay unreachable mid-run before the driver stops with its own
# message (Ray ends the process after 60 s, saying only that it lost the GCS).
RAY_HEAD_LOST_SECONDS = 10.0

Setup = Callable[[Any], ContextManager]
Run = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class ExecutorSettings:
    """Where work runs. `local`: worker processes on this machine (their number is the
    caller's `workers`). `ray`: Ray actors on the cluster at `address` (`auto`, `host:port`
    or `ray://host:port`), each reserving `cpus_per_task` CPUs and `gpus_per_task` GPUs
    (fractions share one), restarted (and its work retried) `max_retries` times when its
    worker process dies."""

    backend: str = "local"
    address: str = "auto"
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    max_retries: int = 3

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise choice_error("executor backend", self.backend, BACKENDS)
        if not isinstance(self.address, str) or not self.address:
            raise ZcnasError(f"address must be 'auto', 'host:port' or 'ray://host:port', got {self.address!r}")
        for name, minimum in (("cpus_per_task", 0.0), ("gpus_per_task", 0.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
                raise ZcnasError(f"{name} must be a number >= {minimum:g}, got {value!r}")
        if self.cpus_per_task == 0 and self.gpus_per_task == 0:
            raise ZcnasError("cpus_per_task and gpus_per_task are both 0; a task needs some resource")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ZcnasError(f"max_retries must be an integer >= 0, got {self.max_retries!r}")


LOCAL = ExecutorSettings()


def default_workers(device_type: str) -> int:
    """One process per CPU core this process may use on the CPU, one on a GPU (each
    process holds its own copy of the data there). Small networks leave a GPU idle
    between their kernels, so more can pay: on an H200, 8 processes trained econas cells
    1.7x as fast as one (README, "On a GPU").

    Measured on a shared 2-core machine (EcoNAS training, images/s, 2 single-thread
    processes vs 1 process with 2 threads): while other jobs held a core, r8c4 1198 vs
    144, r16c8 140 vs 50, r32c16 27 vs 16 (intra-op threads of these small networks stall
    at every sync); when it was quiet, r8c4 2744 vs 2395, r16c8 681 vs 717, r32c16 95 vs
    118. Processes risk losing ~20% and may gain 3-10x.
    """
    if device_type == "cuda":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def execute(run: Run, items: Sequence, shared: Any = None, setup: Setup = nullcontext, workers: int = 1,
            executor: ExecutorSettings = LOCAL) -> Iterator[tuple[int, Any]]:
    """`(index, run(state, items[index]))` for every item, in order of completion.

    `workers` is the number of local processes (1: this process); Ray decides its own.
    An exception raised by `run` or `setup` is raised here, as it was raised there; the
    work still under way then stops (so does it when the caller stops iterating).
    """
    check_positive_integer("workers", workers)
    items = list(items)
    if not items:
        return
    if executor.backend == "ray":
        yield from _ray_results(run, items, shared, setup, executor)
    elif workers == 1 or len(items) == 1:
        with setup(shared) as state:
            for index, item in enumerate(items):
                yield index, run(state, item)
    else:
        yield from _local_results(run, items, shared, setup, min(workers, len(items)))


def _windowed(count: int, window: int, submit: Callable[[int], Any], completed: Callable[[list], Iterable],
              pending: dict | None = None) -> Iterator[tuple[int, Any]]:
    """`(index, handle)` for each of the items 0..count-1 as it completes, where `submit(index)`
    starts one and returns its handle and `completed(handles)` waits for at least one of them
    and returns those done. At most `window` items are under way at once. `pending` (handle
    -> index) is the caller's to read, so it can cancel what is left if it stops early."""
    pending = {} if pending is None else pending
    following = 0
    while following < count or pending:
        while following < count and len(pending) < window:
            pending[submit(following)] = following
            following += 1
        for handle in completed(list(pending)):
            if handle in pending:  # a backend may report one twice in a call
                yield pending.pop(handle), handle


@contextmanager
def torch_threads(count: int):
    """torch's intra-op thread count set to `count`, restored on leaving (a `setup` for
    this process as much as for a worker). A fixed count keeps float sums reproducible:
    a sum split over a different number of threads rounds differently."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def worker_position() -> int | None:
    """This local worker's number (1, 2, ...), for a progress bar of its own below the
    job's; None in the calling process or a Ray actor, where no bar has a line of its own."""
    return _worker_position


# --- local worker processes --------------------------------------------------------------

# A local worker's job: its setup and shared input (from the driver), and the state they
# give, made on the worker's first item so that an error in setup reaches the driver as
# that item's error.
_worker_job: tuple[Setup, Any] | None = None
_worker_state: Any = None
_worker_position: int | None = None
# Holds the setup's context for the worker's life: a generator-based context manager
# that is garbage-collected leaves its context (a thread count set would be undone).
_worker_context = ExitStack()


def _local_results(run: Run, items: list, shared: Any, setup: Setup, workers: int):
    # spawn, not fork: forking after torch has started its thread pools can deadlock.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    # One lock for all workers' bars, owned by the driver: bars take turns at the terminal.
    startup = (os.getpid(), stop, context.Value("i", 0), context.RLock(), setup, shared)
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_local_worker, initargs=startup)
    finished = False
    try:
        for index, future in _windowed(len(items), LOCAL_IN_FLIGHT_PER_WORKER * workers,
                                       lambda index: pool.submit(_run_local, run, items[index]),
                                       lambda pending: wait(pending, return_when=FIRST_COMPLETED)[0]):
            try:
                result = future.result()
            except BrokenProcessPool:
                raise ZcnasError("a worker process died (killed, or out of memory?) before finishing its "
                                 "work; what was finished is kept, a rerun resumes") from None
            yield index, result
        finished = True
    finally:
        if not finished:
            stop.set()  # workers still computing exit now, rather than finish work nobody reads
        pool.shutdown(wait=True, cancel_futures=True)


def _start_local_worker(driver: int, stop, slots, bar_lock, setup: Setup, shared: Any) -> None:
    global _worker_job, _worker_position
    # Ctrl-C reaches the whole process group: the driver alone handles it (and stops its
    # workers), so that the terminal gets one line, not a traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_abandoned, args=(driver, stop), daemon=True).start()
    tqdm.set_lock(bar_lock)
    with slots.get_lock():
        slots.value += 1
        _worker_position = slots.value
    _worker_job = (setup, shared)


def _exit_when_abandoned(driver: int, stop) -> None:
    # A killed driver runs no cleanup; its workers notice they were re-parented.
    while not stop.wait(ORPHAN_CHECK_SECONDS):
        if os.getppid() != driver:
            break
    os._exit(1)


def _run_local(run: Run, item: Any) -> Any:
    global _worker_job, _worker_state
    if _worker_job is not None:
        setup, shared = _worker_job
        _worker_state = _worker_context.enter_context(setup(shared))
        _worker_job = None
    return run(_worker_state, item)


# --- Ray actors ---------------------------------------------------------------------------

class _RayWorker:
    """One of a job's Ray actors, each holding one task's resources: it enters the job's
    setup once, then runs the chunks of items it is given. One whose worker process dies
    is replaced by the driver, which sends its chunks again (Ray's own actor restarts
    would warn on every job that the shared input is a constructor argument)."""

    def __init__(self, setup: Setup, shared: Any):
        self._context = ExitStack()
        self._state = self._context.enter_context(setup(shared))

    def run(self, run: Run, chunk: list) -> list:
        return [run(self._state, item) for item in chunk]


@functools.cache
def _ray_worker_class():
    import ray

    return ray.remote(_RayWorker)  # wrapped once per process, not once per job


def _actor_count(ray, executor: ExecutorSettings) -> int:
    """As many actors as the cluster holds of the executor's size (at least one)."""
    resources = ray.cluster_resources()
    fits = [resources.get(name, 0.0) / need for name, need in (("CPU", executor.cpus_per_task),
                                                              ("GPU", executor.gpus_per_task)) if need > 0]
    return max(1, int(min(fits)))


class _HeadLost(Exception):
    """The cluster's head stopped answering: Ray can no longer cancel or shut down."""


def _ray_results(run: Run, items: list, shared: Any, setup: Setup, executor: ExecutorSettings):
    ray, connected_here = _connect(executor)
    pending, actors = {}, []
    head = ray.get_runtime_context().gcs_address
    head_lost = False
    try:
        shared_ref = ray.put(shared)  # once, for every actor
        chunk = min(RAY_CHUNK, max(1, len(items) // RAY_CHUNKED_FROM))
        starts = range(0, len(items), chunk)

        def start_actor():
            return _ray_worker_class().options(num_cpus=executor.cpus_per_task,
                                               num_gpus=executor.gpus_per_task).remote(setup, shared_ref)

        actors = [start_actor() for _ in range(min(_actor_count(ray, executor), len(starts)))]
        # Chunks go to the actor with the fewest under way (RAY_IN_FLIGHT_PER_ACTOR: one
        # running, one queued), so a slow chunk holds up no queue of others behind it.
        load, sent_to, reruns = [0] * len(actors), {}, {}

        def submit(number: int, slot: int | None = None):
            slot = load.index(min(load)) if slot is None else slot
            load[slot] += 1
            ref = actors[slot].run.remote(run, items[starts[number]:starts[number] + chunk])
            sent_to[ref] = (slot, actors[slot])
            return ref

        unreachable_since = None

        def ready(refs: list) -> list:
            # Waits for one result (checking each second that the head still answers), then
            # takes every other one already there in the same call.
            nonlocal unreachable_since
            while not (done := ray.wait(refs, num_returns=1, timeout=1.0)[0]):
                if _reachable(head):
                    unreachable_since = None
                    continue
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since >= RAY_HEAD_LOST_SECONDS:
                    raise _HeadLost
            done = list(dict.fromkeys(done + ray.wait(refs, num_returns=len(refs), timeout=0)[0]))
            for ref in done:
                load[sent_to[ref][0]] -= 1
            return done

        for number, ref in _windowed(len(starts), RAY_IN_FLIGHT_PER_ACTOR * len(actors), submit, ready, pending):
            slot, actor = sent_to.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                raise exc.cause from None  # the item's own exception, as a local worker raises it
            except ray.exceptions.RayActorError as exc:
                if not _reachable(head):  # the actor is gone with the head's node
                    raise _HeadLost from None
                # Its worker process died: a new actor takes its place (once for all its chunks),
                # and the chunk is sent again, up to max_retries times.
                reruns[number] = reruns.get(number, 0) + 1
                if reruns[number] > executor.max_retries:
                    raise ZcnasError(f"Ray lost the worker of a chunk {reruns[number]} times "
                                     f"({type(exc).__name__}): {exc}; what was finished is kept, a rerun resumes") \
                        from None
                if actors[slot] is actor:
                    actors[slot] = start_actor()
                pending[submit(number, slot)] = number
                continue
            except ray.exceptions.RayError as exc:
                raise ZcnasError(f"Ray failed ({type(exc).__name__}): {exc}; what was finished is kept, "
                                 "a rerun resumes") from None
            yield from enumerate(results, start=starts[number])
    except _HeadLost:
        head_lost = True
        raise ZcnasError(f"the Ray cluster's head at {head} stopped answering mid-run ({RAY_HEAD_LOST_SECONDS:g} s); "
                         f"{INTERRUPTED} once the cluster is back") from None
    finally:
        if not head_lost:  # without a head, stopping actors or shutting down would wait for it
            for actor in actors:
                ray.kill(actor)
            if connected_here:
                ray.shutdown()


def check_cluster(executor: ExecutorSettings) -> None:
    """For the `ray` backend, a ZcnasError unless Ray is installed and the cluster's
    address answers (`auto` is looked up by Ray when it connects); a caller checks this
    before loading data."""
    if executor.backend == "ray":
        _import_ray()
        if executor.address != "auto":
            _check_reachable(executor.address)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ZcnasError("executor backend 'ray' needs Ray: pip install -e '.[ray]'") from None
    return ray


def _connect(executor: ExecutorSettings):
    """Ray, connected to the executor's cluster unless this process already is, and
    whether it connected here; a ZcnasError naming the address when that fails."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray, False
    check_cluster(executor)
    outcome: dict[str, BaseException | None] = {}

    def connect() -> None:
        try:
            ray.init(address=executor.address, logging_level="ERROR")
            outcome["error"] = None
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    # In a thread of its own, so that a connection Ray retries for ever has a limit.
    connecting = threading.Thread(target=connect, daemon=True)
    connecting.start()
    connecting.join(RAY_INIT_SECONDS)
    if connecting.is_alive():
        raise ZcnasError(f"no connection to the Ray cluster at {executor.address!r} within {RAY_INIT_SECONDS:g} s: "
                         "its head answers, but this machine cannot reach the node address it advertises "
                         "(ray start --node-ip-address on the head sets it)")
    if isinstance(outcome["error"], (ConnectionError, RuntimeError, ValueError)):
        raise ZcnasError(f"cannot connect to the Ray cluster at {executor.address!r}: {outcome['error']}") from None
    if outcome["error"] is not None:
        raise outcome["error"]
    return ray, True


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if host.startswith("[") and host.endswith("]"):  # an IPv6 address, [::1]:6379
        host = host[1:-1]
    if not host or not port.isdigit():
        raise ZcnasError(f"Ray address {address!r} is not 'auto', 'host:port', '[ipv6]:port' or 'ray://host:port'")
    return host, int(port)


def _check_reachable(address: str) -> None:
    # Ray retries an unreachable head for a minute or more; a plain connection fails at once.
    try:
        socket.create_connection(_host_port(address), timeout=RAY_CONNECT_SECONDS).close()
    except OSError as exc:
        raise ZcnasError(f"cannot reach the Ray cluster at {address!r}: {exc.strerror or exc}") from None


def _reachable(address: str) -> bool:
    try:
        socket.create_connection(_host_port(address), timeout=2.0).close()
        return True
    except OSError:
        return False
