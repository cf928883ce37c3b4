"""How many threads the networks compute with: every core the process may use, unless the user says.

MXNet (OpenMP, oneDNN) reads ``OMP_NUM_THREADS`` once, when ``libmxnet`` loads; unset, MXNet 1.9
takes half the processors on x86 (it assumes two hyper-threads per core), so a 2-vCPU machine ran
one compute thread and left the other core idle (8 real images x 144 crops of googlenet-paper:
54.5 s as shipped, 33.1 s with two threads). :func:`claim_cores` therefore sets it, before MXNet is
imported, to the cores of ``os.sched_getaffinity`` (divided among the processes a command starts),
unless the environment already sets it. ONNX Runtime's intra-op threads follow the same number
(:func:`intra_op_threads`). The decode/crop threads of `repro evaluate` run beside them without a
core of their own: a 144-crop image costs ~100 times more to compute than to decode, and the
measured split (docs/ARCHITECTURE.md, "Compute threads") was fastest with every core computing.
``MXNET_CPU_WORKER_NTHREADS`` (MXNet's engine workers, operators run at once) is left at its
default of 1: one graph runs operator after operator, each on all compute threads.

The engine (:func:`claim_engine`): MXNet's default ``ThreadedEnginePerDevice`` hands every operator
to a worker thread; for the narrow networks of the embedded run that hand-off costs more than many
operators take (a width-0.25 googlenet-paper training step at batch 32 on 2 cores: forward+backward
103 ms threaded, 65 ms with ``NaiveEngine``, which runs each operator in the calling thread; `repro
train --recipe mini` 234 -> 351 img/s, the same weights bit for bit). Every repro process runs one
graph at a time from one thread (the decode/crop threads use OpenCV and NumPy only), so the CLI
selects ``NaiveEngine`` unless the user set ``MXNET_ENGINE_TYPE``; a parameter-server process
(``DMLC_ROLE`` set: `repro launch`, `--kvstore dist_*`) keeps the threaded engine, whose
asynchronous pushes and pulls overlap the computation.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass

OMP = "OMP_NUM_THREADS"
#: Set beside OMP_NUM_THREADS for a child process, saying why it has that many threads.
SOURCE_VARIABLE = "REPRO_COMPUTE_THREADS_SOURCE"
ENGINE_WORKERS = "MXNET_CPU_WORKER_NTHREADS"
ENGINE = "MXNET_ENGINE_TYPE"
#: Set beside MXNET_ENGINE_TYPE when repro chose the engine, so a child process re-decides it.
ENGINE_SOURCE_VARIABLE = "REPRO_ENGINE_SOURCE"
NAIVE_ENGINE, THREADED_ENGINE = "NaiveEngine", "ThreadedEnginePerDevice"
PARAMETER_SERVER_ROLE = "DMLC_ROLE"


@dataclass(frozen=True)
class ComputeThreads:
    """The compute threads of this process and where the number came from."""

    threads: int | None  # None: MXNet chose (it was loaded before repro could size it)
    origin: str  # "user" (OMP_NUM_THREADS set), "parent" (a repro parent process), "cores", "mxnet"
    source: str  # the same in words, for the manifest
    usable_cores: int

    def record(self) -> dict[str, object]:
        """The manifest fields (with MXNet's engine worker threads as the environment gives them)."""
        return {**asdict(self), "mxnet_cpu_worker_nthreads": os.environ.get(ENGINE_WORKERS, "1 (default)"),
                "mxnet_engine": os.environ.get(ENGINE, f"{THREADED_ENGINE} (default)"),
                "mxnet_engine_source": os.environ.get(ENGINE_SOURCE_VARIABLE,
                                                      "user" if ENGINE in os.environ else "MXNet's default")}


_claimed: ComputeThreads | None = None


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask; the CPU count where there is none)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _from_environment() -> ComputeThreads | None:
    value = os.environ.get(OMP, "")
    if not value.strip().isdigit() or int(value) < 1:
        return None  # unset, or a value OpenMP ignores
    if os.environ.get(SOURCE_VARIABLE):
        return ComputeThreads(int(value), "parent", os.environ[SOURCE_VARIABLE], usable_cores())
    return ComputeThreads(int(value), "user", f"{OMP} set in the environment", usable_cores())


def claim_cores(share: int = 1) -> ComputeThreads:
    """Size the compute threads of this process, before MXNet loads: ``OMP_NUM_THREADS`` = the usable
    cores // ``share`` (at least 1), unless the environment sets it (then it is kept, and said so).

    Called once at the entry of the `repro` command. When MXNet is already loaded (a library caller
    that imported it first) nothing is changed and the record says that MXNet chose.
    """
    global _claimed
    given = _from_environment()
    if given is not None:
        _claimed = given
    elif "mxnet" in sys.modules:
        _claimed = ComputeThreads(None, "mxnet", "MXNet's default (MXNet was loaded before repro sized it)",
                                  usable_cores())
    else:
        cores = usable_cores()
        threads = max(1, cores // share)
        os.environ[OMP] = str(threads)
        _claimed = ComputeThreads(threads, "cores", f"the {cores} usable core(s)"
                                  + (f" / {share}" if share > 1 else ""), cores)
    return _claimed


def claim_engine() -> str:
    """Choose MXNet's engine for this process, before MXNet loads, and return it: ``NaiveEngine``
    (see the module docstring) unless the user set ``MXNET_ENGINE_TYPE`` or this is a parameter-server
    process (``DMLC_ROLE`` set), which keeps ``ThreadedEnginePerDevice``. A value set by a repro
    parent (``REPRO_ENGINE_SOURCE``) is re-decided; with MXNet already loaded nothing changes."""
    chosen_by_repro = bool(os.environ.get(ENGINE_SOURCE_VARIABLE))
    if "mxnet" in sys.modules or (ENGINE in os.environ and not chosen_by_repro):
        return os.environ.get(ENGINE, THREADED_ENGINE)
    if os.environ.get(PARAMETER_SERVER_ROLE):
        engine, why = THREADED_ENGINE, f"repro: a parameter-server process ({PARAMETER_SERVER_ROLE} set)"
    else:
        engine, why = NAIVE_ENGINE, "repro: one graph at a time from one thread"
    os.environ[ENGINE], os.environ[ENGINE_SOURCE_VARIABLE] = engine, why
    return engine


def without_repro_engine(environment: dict[str, str]) -> dict[str, str]:
    """``environment`` without the engine repro chose (:func:`claim_engine`): for a process that is
    not a repro command (a parameter server's scheduler or server), which then gets MXNet's default."""
    if not environment.get(ENGINE_SOURCE_VARIABLE):
        return dict(environment)
    return {k: v for k, v in environment.items() if k not in (ENGINE, ENGINE_SOURCE_VARIABLE)}


def compute_threads() -> ComputeThreads:
    """The compute threads of this process (what :func:`claim_cores` decided, or the environment)."""
    if _claimed is not None:
        return _claimed
    return _from_environment() or ComputeThreads(None, "mxnet", f"MXNet's default ({OMP} unset)", usable_cores())


def intra_op_threads() -> int:
    """Threads for a runtime sized per call (ONNX Runtime): the compute threads, else the cores."""
    return compute_threads().threads or usable_cores()


def child_environment(processes: int, what: str) -> dict[str, str]:
    """``OMP_NUM_THREADS`` (and its reason) for each of ``processes`` children run at once by
    ``what``: the user's value if the user set one, else this process's cores divided among them."""
    own = compute_threads()
    if own.origin == "user":
        return {OMP: str(own.threads)}
    cores = usable_cores()
    return {OMP: str(max(1, cores // processes)),
            SOURCE_VARIABLE: f"{what}: {cores} usable core(s) / {processes} process(es)"}
