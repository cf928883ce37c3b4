"""Distributed training over MXNet's parameter-server kvstore, for real, on 127.0.0.1: a scheduler, a
server and two `repro train` workers as separate processes, in dist_sync and dist_async; and the
launcher's guarantee that no process outlives a job that fails or times out."""
from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from pathlib import Path

import pytest
from support import TINY, make_mini

from repro.errors import ReproError
from repro.train.launcher import dmlc_environment, free_port, start_job, wait_job

pytestmark = pytest.mark.slow  # minutes on 2 cores: left out by -m 'not slow'

JOB_TIMEOUT = 150


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return make_mini(tmp_path_factory.mktemp("mini"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _run_training(mini: Path, out: Path, kvstore: str, logs: Path) -> list[int]:
    command = [sys.executable, "-m", "repro", "train", "--data", str(mini), "--out", str(out), "--epochs", "3",
               *TINY, "--kvstore", kvstore]
    logs.mkdir()
    with contextlib.ExitStack() as stack:
        files = {name: stack.enter_context(open(logs / f"{name}.log", "w"))
                 for name in ("scheduler", "server-0", "worker-0", "worker-1")}
        job = start_job(command, workers=2, servers=1, threads_per_worker=1, outputs=files)
        codes = wait_job(job, timeout=JOB_TIMEOUT)
    assert not any(_alive(p.pid) for p in job.all())
    return codes


def _logs(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.iterdir()))


@pytest.mark.parametrize("kvstore", ["dist_sync", "dist_async"])
def test_two_workers_train_through_the_parameter_server(mini, tmp_path, kvstore):
    out = tmp_path / "out"
    codes = _run_training(mini, out, kvstore, tmp_path / "logs")
    assert codes == [0, 0], _logs(tmp_path / "logs")
    worker_dirs = [out, out / "worker-1"]
    manifests = [json.loads((d / "manifest.json").read_text()) for d in worker_dirs]
    assert [m["distribution"]["rank"] for m in manifests] == [0, 1]
    assert {m["distribution"]["workers"] for m in manifests} == {2}
    for directory in worker_dirs:
        losses = [float(r["loss"]) for r in csv.DictReader((directory / "log.csv").open())]
        # the mini recipe's zero-initialised classifiers start at chance (ln 2 x (1 + 2 x 0.3) = 1.109
        # with the aux heads) and 3 tiny epochs need not go below it: the losses stay near chance,
        # finite, and change from epoch to epoch (the updates reach the network)
        assert len(losses) == 3 and all(0.5 < x < 3.0 for x in losses) and len(set(losses)) == 3, losses
    # Sync: every step applied the same aggregated update. Async: each worker updated the servers'
    # weights on its own and read them back; after the closing barrier both read the same weights.
    assert manifests[0]["last_weights_sha256"] == manifests[1]["last_weights_sha256"]
    assert (out / "last.params").read_bytes() == (out / "worker-1" / "last.params").read_bytes()
    assert not list(out.glob("checkpoint-e*"))


def test_a_failing_worker_brings_the_whole_job_down(tmp_path):
    # The first worker to claim the flag file hangs; the other fails: the hanging one must be killed too.
    flag = tmp_path / "claimed"
    program = ("import os, sys, time\n"
               f"try: os.close(os.open({str(flag)!r}, os.O_CREAT | os.O_EXCL))\n"
               "except FileExistsError: sys.exit(3)\n"
               "time.sleep(60)")
    command = [sys.executable, "-c", program]
    job = start_job(command, workers=2, servers=1, threads_per_worker=1)
    codes = wait_job(job, timeout=45)
    assert sorted(codes) == [-9, 3]
    assert not any(_alive(p.pid) for p in job.all())


def test_a_job_past_its_timeout_is_killed_entirely(tmp_path):
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    job = start_job(command, workers=2, servers=1, threads_per_worker=1)
    with pytest.raises(ReproError, match="timed out"):
        wait_job(job, timeout=2)
    assert not any(_alive(p.pid) for p in job.all())


def test_every_node_is_addressed_on_loopback():
    port = free_port()
    env = dmlc_environment("worker", 2, 1, port)
    assert env["DMLC_PS_ROOT_URI"] == env["DMLC_NODE_HOST"] == "127.0.0.1"
    assert 0 < port < 65536 and env["DMLC_PS_ROOT_PORT"] == str(port)


def test_launch_command_reports_failed_workers(capsys):
    from repro.cli import main

    assert main(["launch", "--workers", "2", "--timeout", "60", "--", sys.executable, "-c",
                 "import sys; sys.exit(3)"]) == 2
    assert "exit 3" in capsys.readouterr().err
