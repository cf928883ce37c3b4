"""One benchmark run: machine peak, bare network, end to end, peers, precision agreement, targets;
each table written to ``out`` as soon as its phase is done, then the plot and the summary."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from repro import results_schema as schema
from repro.atomic import write_text
from repro.bench import peers
from repro.bench.agreement import COLUMNS as AGREEMENT_COLUMNS
from repro.bench.agreement import agreement
from repro.bench.end_to_end import end_to_end
from repro.bench.images import bench_index, generate_images
from repro.bench.machine import Machine, describe_machine
from repro.bench.memory import evaluation_peak_rss
from repro.bench.network import bare_network, macs_per_crop
from repro.bench.report import summary_markdown, write_plot
from repro.bench.targets import add_bounds, check_targets, merged_targets
from repro.engine.crops import get_scheme
from repro.engine.evaluate import EvaluationSettings
from repro.errors import ReproError
from repro.models.backends import BACKENDS, backend_with, parse_backend
from repro.models.refs import parse_ref
from repro.provenance import manifest

DEFAULT_BACKENDS = ("mxnet", "mxnet-fused", "onnxruntime", "mxnet-bf16", "mxnet-int8")


@dataclass
class BenchConfig:
    """Everything a run measures and how; the defaults are the full benchmark (~30 min, 2 cores)."""

    out: Path
    images: Path | None = None  # a folder of JPEGs; None: generated images
    models: tuple[str, ...] = ("googlenet-gluoncv", "googlenet-paper")
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    batch_sizes: tuple[int, ...] = (1, 8, 32, 64)
    input_size: int = 224
    classes: int = 1000
    width: float = 1.0
    repeats: int = 5
    warmup: int = 1
    seconds: float = 1.0  # length of one timed repetition of the bare network
    e2e_models: tuple[str, ...] = ("googlenet-gluoncv",)  # models timed end to end (a subset)
    e2e_images: dict[str, int] = field(default_factory=lambda: {"1": 1000, "10": 200, "144": 16})
    e2e_repeats: int = 3
    e2e_batch: int = 64  # crops per forward (rounded down to whole images, at least one image)
    workers: int = 2
    prefetch: int = 8
    peer_images: int = 1000
    peer_batch: int = 32
    peer_repeats: int = 3
    threads: int = 2
    torch_python: str | None = None
    calibration: Path | None = None  # int8 calibration images for the speed runs (default: the images)
    members: tuple[str, ...] = ()  # trained model cards for the agreement of precision modes
    agreement_data: Path | None = None
    measure_peak: bool = True
    command: str = ""

    def quick(self) -> BenchConfig:
        """A tiny configuration that runs every phase in seconds (for tests; measures little)."""
        return dataclasses.replace(
            self, models=("googlenet-paper",), e2e_models=("googlenet-paper",), input_size=64,
            classes=10, width=0.25, batch_sizes=(1, 4), repeats=2, warmup=1, seconds=0.05,
            e2e_images={"1": 6, "10": 3, "144": 2}, e2e_repeats=2, e2e_batch=8, peer_images=6,
            peer_batch=4, peer_repeats=1)


def _backend_text(name: str, config: BenchConfig, calibration: Path) -> str:
    if parse_backend(name)[0] == "onnxruntime":
        return backend_with(name, threads=config.threads)
    if parse_backend(name)[0] == "mxnet-int8":
        return backend_with(name, calibration=calibration)
    return name


def _write_csv(artefact: schema.Artefact, frame: pd.DataFrame, out: Path) -> pd.DataFrame:
    """``frame`` written as ``artefact`` (checked against the results schema) into the benchmark
    folder ``out`` (results/bench); returns the frame as written (columns in schema order)."""
    schema.write_frame_at(artefact, frame, out / artefact.basename)
    return frame[artefact.names]


def run_bench(config: BenchConfig) -> dict[str, pd.DataFrame]:
    """Run every phase of ``config``; returns the tables by name (also written under ``config.out``)."""
    for name in config.backends:
        parse_backend(name)  # unknown backends fail before anything is measured
    if not set(config.e2e_models) <= set(config.models) or not config.e2e_models:
        raise ReproError(f"--e2e-models {','.join(config.e2e_models)} must be some of --models "
                         f"{','.join(config.models)}")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="repro-bench-"))
    try:
        return _run(config, out, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(config: BenchConfig, out: Path, work: Path) -> dict[str, pd.DataFrame]:
    machine = describe_machine(config.measure_peak)
    write_text(out / schema.BENCH_MACHINE.basename, json.dumps(machine.as_dict(), indent=1) + "\n")
    if config.images is not None and config.images.is_dir():
        root, image_note = config.images, f"{config.images} (real JPEGs)"
    else:
        needed = max([*config.e2e_images.values(), 4 * config.e2e_images["144"], config.peer_images])
        root, image_note = generate_images(work / "images", needed), "generated JPEGs (no image folder)"
    refs = [parse_ref(m, classes=config.classes, width=config.width, input_size=config.input_size)
            for m in config.models]
    texts = [_backend_text(name, config, config.calibration or root) for name in config.backends]

    tables = {"bare": _write_csv(schema.BENCH_BARE, _bare(config, refs, texts, machine), out)}
    e2e = pd.DataFrame([end_to_end(ref, bench_index(root, count), root,
                                   get_scheme(crops).for_crop_size(ref.input_size),
                                   _settings(config, text), config.e2e_repeats, work)
                        for ref in refs if ref.spec_id in config.e2e_models
                        for text in texts for crops, count in config.e2e_images.items()])
    tables["end_to_end"] = _write_csv(schema.BENCH_END_TO_END, add_bounds(tables["bare"], e2e), out)
    timed = next(ref for ref in refs if ref.spec_id in config.e2e_models)
    # every backend at n images; the first also at 2n and 4n (flat once the prefetch window is full)
    n = config.e2e_images["144"]
    runs = [(text, n) for text in texts] + [(texts[0], 2 * n), (texts[0], 4 * n)]
    tables["memory"] = _write_csv(schema.BENCH_MEMORY, pd.DataFrame([
        evaluation_peak_rss(timed, bench_index(root, count), root, "144", text, config.e2e_batch,
                            config.workers, work) for text, count in runs]), out)
    tables["peers"] = _write_csv(schema.BENCH_PEERS, _peers(config, refs, root, tables["end_to_end"], work),
                                 out)
    tables["agreement"] = _write_csv(schema.BENCH_AGREEMENT, _agreement(config, work), out)
    judged = check_targets(tables["bare"], tables["end_to_end"], tables["peers"], tables["agreement"],
                           tables["memory"])  # kept after the rows `--scale`/`--fast-modes` left there
    tables["targets"] = _write_csv(schema.BENCH_TARGETS, merged_targets(
        out / schema.BENCH_TARGETS.basename, judged), out)
    write_plot(tables, machine, out / schema.BENCH_PLOT.basename)
    record = manifest(kind="benchmark", command=config.command, images=image_note,
                      config=json.loads(json.dumps(asdict(config), default=str)),
                      machine_peak=machine.as_dict(), threads=_threads_note(config))
    write_text(out / schema.BENCH_MANIFEST.basename, json.dumps(record, indent=1, sort_keys=True) + "\n")
    write_text(out / schema.BENCH_SUMMARY.basename, summary_markdown(tables, machine, record))
    return tables


def _settings(config: BenchConfig, backend: str) -> EvaluationSettings:
    return EvaluationSettings(batch_size=config.e2e_batch, workers=config.workers,
                              prefetch=config.prefetch, backend=backend, progress=False)


def _bare(config: BenchConfig, refs: list, texts: list[str], machine: Machine) -> pd.DataFrame:
    rows = []
    for ref in refs:
        macs = macs_per_crop(ref)
        for text in texts:
            rows += bare_network(ref, text, config.batch_sizes, config.repeats, config.warmup,
                                 config.seconds, macs, machine.peak_gflops)
    return pd.DataFrame(rows)


def _agreement(config: BenchConfig, work: Path) -> pd.DataFrame:
    if not (config.members and config.agreement_data):
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    # as given, not as timed: an int8 backend is calibrated on the labelled dataset's train/
    fast = [text for text in config.backends if BACKENDS.get(parse_backend(text)[0]).precision != "fp32"]
    settings = EvaluationSettings(workers=config.workers, prefetch=config.prefetch, progress=False)
    return pd.DataFrame(agreement([parse_ref(card) for card in config.members],
                                  Path(config.agreement_data), fast, "mxnet", settings, work),
                        columns=AGREEMENT_COLUMNS)


def _peers(config: BenchConfig, refs: list, root: Path, e2e: pd.DataFrame, work: Path) -> pd.DataFrame:
    """Peers on the single-crop task, with our best fp32 single-crop row per model and the ratio."""
    index = bench_index(root, config.peer_images)
    rows = []
    python = peers.torch_python(config.torch_python)
    for ref in (ref for ref in refs if ref.spec_id in config.e2e_models):
        ours = e2e[(e2e["model"] == ref.spec_id) & (e2e["crops_per_image"] == 1)
                   & (e2e["precision"] == "fp32")]
        for _, row in ours.iterrows():
            rows.append({"peer": f"ours ({row['backend']})", "model": ref.spec_id,
                         "batch": row["crops_per_forward"], "workers": row["workers"],
                         "images_per_s": row["images_per_s"], "images_per_s_min": row["images_per_s_min"],
                         "images_per_s_max": row["images_per_s_max"], "repeats": row["repeats"],
                         "load": row["load"], "note": f"repro engine, {row['images']} images"})
        if importlib.util.find_spec("onnxruntime"):
            rows.append(peers.onnxruntime_loop(ref, index, root, config.peer_batch, config.threads,
                                               config.peer_repeats, config.warmup))
        else:
            rows.append({"peer": "onnxruntime-loop", "model": ref.spec_id,
                         "note": "not run: onnxruntime is not installed (pip install '.[bench]')"})
        rows.append(peers.gluoncv_loop(ref, index, root, config.peer_batch, config.workers,
                                       config.peer_repeats, config.warmup))
        if ref.spec_id != "googlenet-gluoncv":
            continue  # torchvision's googlenet is GluonCV's architecture (BatchNorm, 3x3 for 5x5)
        if python:
            rows += peers.torchvision_peers(python, index, root, ref, config.peer_batch, config.workers,
                                            config.threads, config.peer_repeats, config.warmup, work)
        else:
            rows.append({"peer": "torchvision", "model": ref.spec_id, "note": "not run: no interpreter "
                         "with torch and torchvision (--torch-python or REPRO_TORCH_PYTHON)"})
    frame = schema.frame_of(schema.BENCH_PEERS, rows)  # a peer that did not run has only a note
    best_ours = frame[frame["peer"].str.startswith("ours")].groupby("model")["images_per_s"].max()
    return frame.assign(ours_over_peer=[round(best_ours.get(m, float("nan")) / v, 3)
                                        for m, v in zip(frame["model"], frame["images_per_s"])])


def _threads_note(config: BenchConfig) -> str:
    omp = os.environ.get("OMP_NUM_THREADS", "unset (MXNet default: one per core)")
    return (f"MXNet/oneDNN OMP_NUM_THREADS={omp}; ONNX Runtime intra-op {config.threads}; "
            f"torch {config.threads}; decode/crop: {config.workers} threads (engine) or worker "
            f"processes (DataLoader peers)")

