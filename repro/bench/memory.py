"""Peak resident memory of a 144-crop evaluation, measured on its own process.

A long benchmark process keeps MXNet's pooled memory, oneDNN primitive caches and ONNX Runtime arenas
from earlier phases, so its own peak says little about one evaluation. Each measurement here runs
``repro evaluate`` in a fresh interpreter and reads that child's peak RSS from ``wait4`` (Linux
``ru_maxrss``, KiB), the same number ``/usr/bin/time -v`` prints as "Maximum resident set size".
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from repro.bench.timing import run_child
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.store import ModelStore, list_models
from repro.models.backends import BACKENDS, parse_backend
from repro.models.refs import ModelRef


def evaluation_peak_rss(ref: ModelRef, index: LabelIndex, root: Path, crops: str, backend: str,
                        batch_size: int, workers: int, work_dir: Path, engine_time: bool = False) -> dict:
    """One row: peak RSS (MB) and wall time of ``repro evaluate`` over ``index`` in a new process;
    with ``engine_time``, also ``engine_seconds``, the evaluation's own wall time as its store's run
    record gives it (without the interpreter's start and the model's build), and the process's
    ``cpu_seconds`` (user + system)."""
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="memory-") as tmp:
        index_path = index.to_csv(Path(tmp) / "index.csv")
        command = [sys.executable, "-m", "repro", "evaluate", "--index", str(index_path),
                   "--images", str(root), "--model", ref.text, "--classes", str(ref.classes),
                   "--width", f"{ref.width:g}", "--crop-size", str(ref.input_size), "--crops", crops,
                   "--store", str(Path(tmp) / "store"), "--backend", backend,
                   "--batch-size", str(batch_size), "--workers", str(workers), "--no-progress"]
        run = run_child(command, f"memory measurement failed ({' '.join(command)})")
        timed = {"engine_seconds": _engine_seconds(Path(tmp) / "store"),
                 "cpu_seconds": run.cpu_seconds} if engine_time else {}
    name, _ = parse_backend(backend)
    return {**timed, "model": ref.spec_id, "backend": name, "precision": BACKENDS.get(name).precision,
            "crops_per_image": int(crops), "images": len(index), "peak_rss_mb": run.peak_rss_mb,
            "process_seconds": run.seconds, "load": run.load}


def _engine_seconds(store: Path) -> float:
    """The wall seconds of the one run that computed the one model of ``store``."""
    (key,) = list_models(store)
    (records,) = ModelStore.open(store, key).run_records().values()
    return round(sum(record["wall_seconds"] for record in records), 3)
