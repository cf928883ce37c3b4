"""Run a distributed training job on this machine: scheduler, servers and workers as separate processes.

MXNet's bundled tracker (``mxnet/tools/launch.py``) fails on Python >= 3.9 (``Thread.isAlive``) and
advertises the machine's network address; this launcher instead gives every process the ``DMLC_*``
environment of ps-lite directly, bound to 127.0.0.1. The scheduler and the servers are
``python -c "import mxnet"`` with ``DMLC_ROLE`` set (importing MXNet in those roles runs the node until
the workers finish); the workers run the given command with ``DMLC_ROLE=worker``.

Every process gets its own process group, and all of them are killed and reaped when the job ends,
fails, times out or is interrupted: no node outlives the launcher.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from repro.compute_threads import OMP, child_environment, without_repro_engine
from repro.errors import ReproError

LOOPBACK = "127.0.0.1"
POLL_SECONDS = 0.2
SHUTDOWN_GRACE_SECONDS = 10.0


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on ``host`` at the time of the call (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def dmlc_environment(role: str, workers: int, servers: int, port: int, host: str = LOOPBACK) -> dict[str, str]:
    """The ps-lite variables of one node of a job whose scheduler listens on ``host:port``."""
    return {"DMLC_ROLE": role, "DMLC_PS_ROOT_URI": host, "DMLC_PS_ROOT_PORT": str(port),
            "DMLC_NODE_HOST": host, "DMLC_NUM_WORKER": str(workers), "DMLC_NUM_SERVER": str(servers)}


@dataclass
class Job:
    """The processes of one job, by role; worker i is ``workers[i]``."""

    scheduler: subprocess.Popen
    servers: list[subprocess.Popen]
    workers: list[subprocess.Popen]
    started: float = field(default_factory=time.monotonic)

    def all(self) -> list[subprocess.Popen]:
        """Every process of the job."""
        return [self.scheduler, *self.servers, *self.workers]


def _start(command: Sequence[str], env: dict[str, str], output: IO | None) -> subprocess.Popen:
    return subprocess.Popen(list(command), env=env, start_new_session=True, stdout=output,
                            stderr=subprocess.STDOUT if output is not None else None)


def start_job(command: Sequence[str], workers: int, servers: int = 1, threads_per_worker: int | None = None,
              outputs: dict[str, IO] | None = None) -> Job:
    """Start scheduler, ``servers`` servers and ``workers`` copies of ``command`` on 127.0.0.1.

    ``threads_per_worker`` sets OMP_NUM_THREADS of the workers (default: the usable cores // workers,
    at least 1, unless the user set OMP_NUM_THREADS: :func:`repro.compute_threads.child_environment`). ``outputs`` maps ``scheduler``, ``server-<i>``,
    ``worker-<i>`` to open files receiving that process's stdout and stderr (default: inherited).
    """
    if workers < 1 or servers < 1:
        raise ReproError(f"a job needs at least one worker and one server (got {workers}, {servers})")
    if not command:
        raise ReproError("no worker command given: repro launch --workers N -- COMMAND ...")
    outputs = outputs or {}
    port = free_port()
    node = [sys.executable, "-c", "import mxnet"]
    env = without_repro_engine(dict(os.environ))  # the engine is MXNet's default for every DMLC process
    worker_env = {**env, **({OMP: str(threads_per_worker)} if threads_per_worker
                            else child_environment(workers, f"repro launch --workers {workers}"))}
    started: list[subprocess.Popen] = []
    try:
        scheduler = _start(node, {**env, **dmlc_environment("scheduler", workers, servers, port)},
                           outputs.get("scheduler"))
        started.append(scheduler)
        server_procs = []
        for i in range(servers):
            server_procs.append(_start(node, {**env, **dmlc_environment("server", workers, servers, port)},
                                       outputs.get(f"server-{i}")))
            started.append(server_procs[-1])
        worker_procs = []
        for i in range(workers):
            worker_procs.append(_start(command, {**worker_env, **dmlc_environment("worker", workers, servers, port)},
                                       outputs.get(f"worker-{i}")))
            started.append(worker_procs[-1])
    except BaseException:
        stop(started)
        raise
    return Job(scheduler, server_procs, worker_procs)


def stop(processes: Sequence[subprocess.Popen]) -> None:
    """SIGKILL each process's group (still running or not: its children may be) and reap it."""
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already
    for process in processes:
        process.wait()


def wait_job(job: Job, timeout: float | None = None) -> list[int]:
    """Wait for the workers; return their exit codes (worker order).

    Once the workers are done the servers and scheduler get ``SHUTDOWN_GRACE_SECONDS`` to exit; when
    a server or the scheduler ends first, the workers get as long. On a worker failure, a timeout, an
    interruption or the end of a grace period, every process group of the job is killed and reaped.
    """
    nodes = (job.scheduler, *job.servers)
    try:
        grace_ends = None
        while None in [w.poll() for w in job.workers]:  # a list: every worker is polled
            if any(w.returncode not in (None, 0) for w in job.workers):
                break  # the other workers would wait for it forever
            if grace_ends is None and any(n.poll() is not None for n in nodes):
                grace_ends = time.monotonic() + SHUTDOWN_GRACE_SECONDS
            if grace_ends is not None and time.monotonic() > grace_ends:
                break
            if timeout is not None and time.monotonic() - job.started > timeout:
                raise ReproError(f"distributed job timed out after {timeout:g} s; all its processes were killed")
            time.sleep(POLL_SECONDS)
        grace_ends = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        while all(w.returncode == 0 for w in job.workers) and any(n.poll() is None for n in nodes) \
                and time.monotonic() < grace_ends:
            time.sleep(POLL_SECONDS)
    finally:
        stop(job.all())
    return [w.returncode for w in job.workers]


def run_job(command: Sequence[str], workers: int, servers: int = 1, timeout: float | None = None,
            threads_per_worker: int | None = None, outputs: dict[str, IO] | None = None) -> list[int]:
    """:func:`start_job` then :func:`wait_job`: the workers' exit codes."""
    return wait_job(start_job(command, workers, servers, threads_per_worker, outputs), timeout)
