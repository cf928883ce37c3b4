"""Compute threads: every usable core unless the user set OMP_NUM_THREADS, shared among child
processes, sized before MXNet loads and recorded in every manifest."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from repro import compute_threads as ct
from repro.provenance import manifest

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def fresh(monkeypatch):
    """The module as a new process sees it, with OMP_NUM_THREADS and its reason unset."""
    monkeypatch.setattr(ct, "_claimed", None)
    monkeypatch.delenv(ct.OMP, raising=False)
    monkeypatch.delenv(ct.SOURCE_VARIABLE, raising=False)
    return monkeypatch


def _python(code: str, **env: str) -> str:
    repro_set = (ct.OMP, ct.SOURCE_VARIABLE, ct.ENGINE, ct.ENGINE_SOURCE_VARIABLE, ct.PARAMETER_SERVER_ROLE)
    clean = {k: v for k, v in os.environ.items() if k not in repro_set}
    result = subprocess.run([sys.executable, "-c", code], env={**clean, "PYTHONPATH": PROJECT, **env},
                            capture_output=True, text=True, check=True, timeout=120)
    return result.stdout.strip()


def test_the_cli_sizes_the_threads_before_mxnet_loads_and_the_user_wins():
    code = ("import os, sys, json; import repro.cli as cli; loaded = 'mxnet' in sys.modules; "
            "cli.main(['--version']); from repro.compute_threads import compute_threads; "
            "print(json.dumps([loaded, os.environ.get('OMP_NUM_THREADS'), compute_threads().origin]))")
    loaded, threads, origin = json.loads(_python(code).splitlines()[-1])
    assert not loaded  # importing the CLI must not load MXNet, which reads OMP_NUM_THREADS once
    assert (threads, origin) == (str(len(os.sched_getaffinity(0))), "cores")
    loaded, threads, origin = json.loads(_python(code, OMP_NUM_THREADS="1").splitlines()[-1])
    assert (threads, origin) == ("1", "user")


def test_a_set_value_is_kept_for_the_process_and_every_child(fresh):
    cores = len(os.sched_getaffinity(0))
    fresh.setenv(ct.OMP, "3")
    claimed = ct.claim_cores(share=2)
    assert (claimed.threads, claimed.origin) == (3, "user")
    assert ct.intra_op_threads() == 3  # ONNX Runtime follows
    assert ct.child_environment(2, "test") == {ct.OMP: "3"}  # the user's value for every child
    fresh.delenv(ct.OMP)
    fresh.setattr(ct, "_claimed", ct.ComputeThreads(cores, "cores", "the cores", cores))
    child = ct.child_environment(2, "repro train-ensemble --jobs 2")
    assert child[ct.OMP] == str(max(1, cores // 2))
    assert "--jobs 2" in child[ct.SOURCE_VARIABLE]
    fresh.setenv(ct.OMP, child[ct.OMP])
    fresh.setenv(ct.SOURCE_VARIABLE, child[ct.SOURCE_VARIABLE])
    fresh.setattr(ct, "_claimed", None)
    assert ct.claim_cores().origin == "parent"  # the child says why it has that many


def test_a_fresh_process_gets_its_cores_divided_and_a_loaded_mxnet_is_not_lied_about():
    claim = "from repro.compute_threads import claim_cores; import os; t = claim_cores(share=2); " \
            "print(os.environ.get('OMP_NUM_THREADS'), t.threads, t.origin)"
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert _python(claim).split() == [share, share, "cores"]
    assert _python("import mxnet; " + claim).split()[-3:] == ["None", "None", "mxnet"]


def test_every_manifest_records_the_threads_and_the_cpu_model():
    machine = manifest()["machine"]
    assert machine["cpu_model"] and isinstance(machine["cpu_model"], str)
    threads = machine["compute_threads"]
    assert set(threads) == {"threads", "origin", "source", "usable_cores", "mxnet_cpu_worker_nthreads",
                            "mxnet_engine", "mxnet_engine_source"}
    assert threads["usable_cores"] == len(os.sched_getaffinity(0))


_ENGINE_OF_A_CLI_PROCESS = (
    "import os, sys, json; import repro.cli as cli; cli.main(['--version']); import mxnet; "
    "from repro.compute_threads import compute_threads; r = compute_threads().record(); "
    "mxnet.nd.ones(1).asscalar(); "
    "print(json.dumps([os.environ.get('MXNET_ENGINE_TYPE'), r['mxnet_engine'], r['mxnet_engine_source']]))")


def test_the_cli_picks_the_naive_engine_and_mxnet_really_runs_it():
    """Asked of the MXNet library itself: it logs the engine it starts with."""
    code = _ENGINE_OF_A_CLI_PROCESS
    clean = {k: v for k, v in os.environ.items() if k not in (ct.ENGINE, ct.ENGINE_SOURCE_VARIABLE,
                                                              ct.PARAMETER_SERVER_ROLE)}
    result = subprocess.run([sys.executable, "-c", code], env={**clean, "PYTHONPATH": PROJECT},
                            capture_output=True, text=True, check=True, timeout=120)
    engine, recorded, source = json.loads(result.stdout.strip().splitlines()[-1])
    assert (engine, recorded) == ("NaiveEngine", "NaiveEngine") and source.startswith("repro:")
    assert "MXNet start using engine: NaiveEngine" in result.stderr


def test_the_users_engine_wins_and_a_parameter_server_process_keeps_the_threaded_one():
    engine, recorded, source = json.loads(_python(_ENGINE_OF_A_CLI_PROCESS,
                                                     MXNET_ENGINE_TYPE="ThreadedEngine").splitlines()[-1])
    assert (engine, recorded, source) == ("ThreadedEngine", "ThreadedEngine", "user")
    engine, _, source = json.loads(_python(_ENGINE_OF_A_CLI_PROCESS, DMLC_ROLE="worker").splitlines()[-1])
    assert engine == "ThreadedEnginePerDevice" and "parameter-server" in source
    # A value a repro parent chose is re-decided by the child (a `repro launch` worker).
    inherited = {"MXNET_ENGINE_TYPE": "NaiveEngine", ct.ENGINE_SOURCE_VARIABLE: "repro: parent"}
    engine, _, _ = json.loads(_python(_ENGINE_OF_A_CLI_PROCESS, DMLC_ROLE="worker",
                                         **inherited).splitlines()[-1])
    assert engine == "ThreadedEnginePerDevice"


def test_a_scheduler_or_server_gets_mxnets_default_engine_back(fresh):
    fresh.delenv(ct.ENGINE, raising=False)
    fresh.delenv(ct.ENGINE_SOURCE_VARIABLE, raising=False)
    fresh.delitem(sys.modules, "mxnet", raising=False)
    assert ct.claim_engine() == "NaiveEngine"
    chosen = dict(os.environ)
    assert ct.ENGINE not in ct.without_repro_engine(chosen)
    user = {**chosen, ct.ENGINE: "ThreadedEngine"}
    user.pop(ct.ENGINE_SOURCE_VARIABLE)
    assert ct.without_repro_engine(user)[ct.ENGINE] == "ThreadedEngine"  # the user's choice is kept
