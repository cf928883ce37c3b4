"""Run a command as the workers of a parameter-server job on this machine (127.0.0.1 only).

Starts a scheduler, --servers server processes and --workers copies of COMMAND with MXNet's DMLC_*
environment (the job's scheduler on a free 127.0.0.1 port), waits for the workers, and kills and
reaps every process when they finish, one fails, --timeout passes or the launcher is interrupted.
Worker k of a `repro train --kvstore dist_sync|dist_async` job writes into OUT (k = 0) or
OUT/worker-k. For several machines, start the same processes with the same variables by ssh, MPI or
Slurm (see the README).

Examples:
  repro launch --workers 2 -- repro train --data /tmp/mini --recipe mini --kvstore dist_sync --out runs/sync
  repro launch --workers 2 --servers 2 --timeout 3600 -- python -m repro train ... --kvstore dist_async
"""
from __future__ import annotations

import argparse

NAME = "launch"
HELP = "run a command as N workers of a local parameter-server job (scheduler + servers on 127.0.0.1)"


def configure(parser) -> None:
    from repro.commands._types import positive_float, positive_int

    parser.add_argument("--workers", "-n", type=positive_int, default=2, help="worker processes (default 2)")
    parser.add_argument("--servers", "-s", type=positive_int, default=1, help="server processes (default 1)")
    parser.add_argument("--timeout", type=positive_float, help="kill the whole job after this many seconds")
    parser.add_argument("--threads-per-worker", type=positive_int,
                        help="OMP_NUM_THREADS of each worker (default: usable cores / workers, unless "
                             "OMP_NUM_THREADS is set)")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                        help="the worker command, after --")


def run(args) -> int:
    from repro.errors import ReproError
    from repro.train.launcher import run_job

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    codes = run_job(command, args.workers, args.servers, args.timeout, args.threads_per_worker)
    failed = [(rank, code) for rank, code in enumerate(codes) if code != 0]
    if failed:
        raise ReproError("worker(s) failed: " + ", ".join(f"{rank} (exit {code})" for rank, code in failed))
    print(f"all {len(codes)} workers finished")
    return 0
