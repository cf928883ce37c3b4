"""SIGKILL at random points (several seeds) of evaluation, training and detection, then a restart of the
same command: the result equals an uninterrupted run's bit for bit, and no half-written file is ever
present under a final name.

A kill point is drawn from the seed as "after k files of progress have appeared, plus a random fraction
of the time one more takes", so it lands inside the run however busy the machine is.
"""
from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from support import cli_args, make_dataset, make_mini, train_args

from repro.cli import main
from repro.engine.store import ModelStore, list_models

pytestmark = pytest.mark.slow  # kills real subprocesses at random points: minutes on 2 cores

SEEDS = (11, 22, 33)
TESTS_DIR = Path(__file__).resolve().parents[1]  # tests/: subprocesses import support from there
STARTUP_TIMEOUT = 180  # seconds for a subprocess to show progress on a busy 2-core machine


def kill_after_progress(command: list[str], progress: Callable[[], int], files: int, extra_seconds: float,
                        finished: Callable[[], bool]) -> None:
    """Start ``command``; SIGKILL it once ``progress()`` reaches ``files`` plus ``extra_seconds``.

    Fails if the process ended on its own (the kill must interrupt it) or ``finished()`` already holds.
    """
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=TESTS_DIR)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while progress() < files and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(extra_seconds)
        assert proc.poll() is None, f"ended before the kill: {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not finished(), "the kill landed after the run finished"


def repro_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "repro", *args]


def _run_reference(command: list[str]) -> None:
    """An uninterrupted or resuming run, through the same command as the killed one: the CLI sizes the
    compute threads, and float sums differ with their number, so an in-process run (MXNet already
    loaded with its own thread count) need not match bit for bit."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=TESTS_DIR, check=False)
    assert done.returncode == 0, done.stderr


# ---- evaluation ------------------------------------------------------------------------------------

def only_store(path: Path) -> ModelStore:
    (key,) = list_models(path)
    return ModelStore.open(path, key)


def chunk_count(store: Path) -> int:
    return len(list(store.glob("*/chunks/c*.npz")))


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    """A 20-image dataset (10 chunks) and the content hash of its uninterrupted store."""
    root = tmp_path_factory.mktemp("eval")
    make_dataset(root, 20)
    assert main(cli_args(root, root / "reference")) == 0
    return root, only_store(root / "reference").content_sha256()


@pytest.mark.parametrize("seed", SEEDS)
def test_evaluation_killed_at_a_random_point_resumes_to_the_same_store(evaluation, tmp_path, seed):
    root, reference = evaluation
    rng = np.random.default_rng(seed)
    store = tmp_path / "killed"
    chunks_before_kill = int(rng.integers(0, 8))
    kill_after_progress(repro_command(*cli_args(root, store)), lambda: chunk_count(store), chunks_before_kill,
                        float(rng.uniform(0, 0.1)),
                        finished=lambda: any(store.glob("*/manifest.json")))
    # every file under a final chunk name is complete: it loads and holds its rows
    partial = only_store(store)
    for chunk in partial.done_chunks():
        assert partial.read_chunk(chunk)["rows"].tolist() == list(partial.spec.chunk_rows(chunk))
    assert main(cli_args(root, store)) == 0
    resumed = only_store(store)
    assert resumed.content_sha256() == reference
    assert json.loads(resumed.manifest_path().read_text())["content_sha256"] == reference


def test_a_torn_chunk_under_its_final_name_is_an_error_not_a_result(evaluation, tmp_path, capsys):
    """What the atomic rename prevents: were a chunk ever cut short, reading it fails by name."""
    root, _ = evaluation
    store = tmp_path / "s"
    assert main(cli_args(root, store, "--shard", "1/2")) == 0
    path = only_store(store).chunk_path(0)
    path.write_bytes(path.read_bytes()[:100])
    assert main(cli_args(root, store, "--shard", "2/2")) == 2  # finalising reads every chunk
    err = capsys.readouterr().err
    assert f"{path} is damaged" in err and not only_store(store).manifest_path().exists()


# ---- training --------------------------------------------------------------------------------------

EPOCHS = 3


def latest_epoch(out: Path) -> int:
    epochs = [int(p.name.split("-e")[1]) for p in out.glob("checkpoint-e[0-9]*")]
    return max(epochs, default=0)


def logged_results(out: Path) -> list[dict]:
    """log.csv without its timing columns."""
    return [{k: v for k, v in row.items() if k not in ("seconds", "img_per_s")}
            for row in csv.DictReader((out / "log.csv").open())]


@pytest.fixture(scope="module")
def training(tmp_path_factory):
    """A 2-class mini-ILSVRC, the uninterrupted run's manifest and the duration of one epoch."""
    data = make_mini(tmp_path_factory.mktemp("mini"))
    reference = tmp_path_factory.mktemp("train") / "reference"
    _run_reference(repro_command(*train_args(data, reference, epochs=EPOCHS)))
    # The fastest epoch of the reference (its log's own timing, without set-up): a kill delayed by a
    # fraction of it lands inside the next epoch even when the machine is busy.
    epoch_seconds = min(float(row["seconds"]) for row in csv.DictReader((reference / "log.csv").open()))
    return data, reference, epoch_seconds


@pytest.mark.parametrize("seed", SEEDS)
def test_training_killed_mid_epoch_at_a_random_point_resumes_to_the_same_weights(training, tmp_path, seed):
    data, reference, epoch_seconds = training
    rng = np.random.default_rng(seed)
    out = tmp_path / "killed"
    epochs_before_kill = int(rng.integers(0, EPOCHS - 1))  # 0 or 1 finished epochs, then mid-epoch
    command = repro_command(*train_args(data, out, epochs=EPOCHS))
    if epochs_before_kill == 0:  # wait for the run to be set up: its output folder holds something
        progress = lambda: int(out.is_dir() and any(out.iterdir()))
        epochs_before_kill = 1
    else:
        progress = lambda: latest_epoch(out)
    kill_after_progress(command, progress, epochs_before_kill, float(rng.uniform(0.1, 0.5)) * epoch_seconds,
                        finished=lambda: (out / "manifest.json").exists())
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=TESTS_DIR, check=False)
    assert resumed.returncode == 0, resumed.stderr
    for name in ("last.params", "polyak.params"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert logged_results(out) == logged_results(reference)
    ours, theirs = (json.loads((p / "manifest.json").read_text()) for p in (out, reference))
    assert ours["polyak_weights_sha256"] == theirs["polyak_weights_sha256"]
    assert not list(out.glob("checkpoint-e*")) and not list(out.glob(".checkpoint-*"))


# ---- detection -------------------------------------------------------------------------------------

DETECT_MAIN = ("import sys, support; support.tiny_detection_protocol(); from repro.cli import main; "
               "sys.exit(main(sys.argv[1:]))")


def detect_args(data: Path, finetuned: Path, out: Path) -> list[str]:
    """`repro detect run` of the tiny detection protocol of tests/support.py."""
    return ["detect", "run", "--data", str(data), "--protocol", "test", "--finetuned", str(finetuned),
            "--batch-size", "64", "--workers", "1", "--out", str(out)]


def detection_files(out: Path) -> int:
    return len(list(out.glob("proposals/*/*.npz"))) + len(list(out.glob("region_scores/*/*.npz")))


@pytest.fixture(scope="module")
def detection(tmp_path_factory):
    """The tiny mini-ILSVRC DET set, two fine-tuned region classifiers and an uninterrupted run."""
    from support import classification_card, tiny_detection_protocol

    from repro.data.mini.config import MiniConfig
    from repro.data.mini.generate import generate
    from repro.detect.dataset import open_det_data
    from repro.detect.run import RunSettings, finetune_members

    root = tmp_path_factory.mktemp("det")
    generate(root / "mini", MiniConfig(seed=3, classes=2, train_per_class=2, val_per_class=3, det_images=6))
    cards = [str(classification_card(root / f"cls{s}", s, 2)) for s in (1, 2)]
    finetune_members(open_det_data(root / "mini"), tiny_detection_protocol(), cards, root / "ft", RunSettings(workers=1),
                     count=2)
    _run_reference([sys.executable, "-c", DETECT_MAIN, *detect_args(root / "mini", root / "ft", root / "reference")])
    return root, detection_files(root / "reference")


@pytest.mark.parametrize("seed", SEEDS)
def test_detection_killed_at_a_random_point_resumes_to_the_same_submissions(detection, tmp_path, seed):
    root, files = detection
    rng = np.random.default_rng(seed)
    out = tmp_path / "killed"
    args = detect_args(root / "mini", root / "ft", out)
    kill_after_progress([sys.executable, "-c", DETECT_MAIN, *args], lambda: detection_files(out),
                        int(rng.integers(0, files - 1)), float(rng.uniform(0, 0.05)),
                        finished=lambda: (out / "submission_ensemble.txt").exists())
    _run_reference([sys.executable, "-c", DETECT_MAIN, *args])
    for name in ("submission_single.txt", "submission_ensemble.txt", "val2.txt"):
        assert (out / name).read_bytes() == (root / "reference" / name).read_bytes(), name
