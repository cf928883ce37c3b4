"""bf16 and int8 judged on a real network: the canary (``efficientnet-lite0:pretrained``, NOT a
GoogLeNet) over real images, 1 crop, every backend through the engine, against MXNet fp32.

Two labelled image sets of ../shared/data: the ILSVRC class samples (``imagenet-samples``, one image
per class, ``<WNID>_<name>.JPEG``; the label is the WNID's position among the 1,000 sorted ILSVRC2012
WNIDs) and 100 ILSVRC2012 val images (``ilsvrc2012-val-sample``, devkit ground truth via
``meta_clsloc.mat``). Every ``step``-th class sample is scored (the first, then every ``step``-th);
int8 is calibrated on class samples that are *not* scored (the ones just after each scored one), so
no scored image calibrates. Per (backend, set): top-1 agreement with fp32, the same top-5 set, top-1
and top-5 error and their change, the network's crops/s inside the engine (its forward time) and the
speed-up over fp32, and the oneDNN ISA and convolution kernels it ran (:mod:`repro.bench.onednn`:
whether AMX tiles are used). A backend this CPU cannot run is a row with the error in its note.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import mxnet as mx
import numpy as np
import pandas as pd

from repro import results_schema as schema
from repro.bench.agreement import same_top5
from repro.bench.machine import describe_machine
from repro.bench.onednn import describe, onednn_kernels
from repro.bench.targets import FAST_MODES_PREFIX, check_fast_mode_targets, merged_targets
from repro.bench.timing import load_average
from repro.data.ilsvrc.classes import ilsvrc2012_classes, read_meta
from repro.data.ilsvrc.formats import read_devkit
from repro.data.ilsvrc.labels import LabelIndex
from repro.data.label_sources import keep_present
from repro.engine.crops import get_scheme
from repro.engine.evaluate import EvaluationSettings, ImageSource, evaluate
from repro.engine.store import ModelStore
from repro.errors import ReproError
from repro.metrics.classification import error_rate, topk_correct
from repro.models.backends import BACKENDS, backend_with, parse_backend
from repro.models.refs import load_model, parse_ref
from repro.provenance import cpu_flags

DEVKIT_GT = "data/ILSVRC2014_clsloc_validation_ground_truth.txt"
DEVKIT_META = "data/meta_clsloc.mat"
#: why bf16 fails on a CPU without AVX-512 (oneDNN 2.4, src/cpu/platform.cpp)
BF16_WITHOUT_AVX512 = (" (oneDNN 2.4, MXNet 1.9.1's, supports bf16 only where the CPU has AVX-512: "
                       "platform::has_data_type_support(bf16) is mayiuse(avx512_core), so no bf16 "
                       "convolution, not even the reference one, can be created on AVX2)")


@dataclass(frozen=True)
class FastModesConfig:
    """What is scored and how; the defaults take ~5 minutes on 2 cores."""

    out: Path
    shared: Path  # ../shared/data
    model: str = "efficientnet-lite0:pretrained"
    reference: str = "mxnet"  # the fp32 backend the modes are judged against
    backends: tuple[str, ...] = ("onnxruntime", "mxnet-int8", "mxnet-bf16")
    step: int = 2  # every step-th class sample is scored
    calibration_images: int = 100
    val: bool = True  # also the 100 ILSVRC2012 val images
    batch_size: int = 32
    workers: int = 2


def sample_index(folder: Path, step: int, offset: int = 0) -> LabelIndex:
    """The class samples ``<WNID>_<name>.JPEG`` at positions ``offset, offset + step, ...`` of the
    sorted list, labelled by their WNID's index among the 1,000 ILSVRC2012 classes."""
    classes = ilsvrc2012_classes()
    files = sorted(p.name for p in folder.glob("*.JPEG"))
    if not files:
        raise ReproError(f"{folder} holds no <WNID>_<name>.JPEG class sample")
    picked = files[offset::step]
    return LabelIndex.from_rows((name, name.split("_", 1)[0],
                                 classes.index_of(name.split("_", 1)[0], str(folder / name)))
                                for name in picked)


def val_index(images: Path, devkit: Path) -> LabelIndex:
    """The ILSVRC2012 val images present under ``images``, labelled by the devkit's ground truth
    (as `repro labels --gt GT --meta META --keep-present DIR` builds it)."""
    return keep_present(read_devkit(devkit / DEVKIT_GT, read_meta(devkit / DEVKIT_META)), images)


def _calibration_folder(samples: Path, config: FastModesConfig, work: Path) -> tuple[Path, int]:
    """A folder of links to class samples disjoint from the scored ones (positions 1, 1 + step, ...
    when step > 1); int8 calibration spreads ``calibration_images`` evenly over it."""
    if config.step < 2:
        raise ReproError("--fast-step must be >= 2: int8 is calibrated on the class samples that are "
                         "not scored")
    folder = work / "calibration"
    folder.mkdir()
    names = sample_index(samples, config.step, offset=1).filenames
    for name in names:
        (folder / name).symlink_to((samples / name).resolve())
    return folder, min(config.calibration_images, len(names))


def _scored(model, backend: str, source: ImageSource, config: FastModesConfig,
            work: Path) -> tuple[np.ndarray, float]:
    """(probabilities, crops/s of the network inside the engine) of one backend on one set."""
    scheme = get_scheme("1").for_crop_size(model.ref.input_size)
    settings = EvaluationSettings(batch_size=config.batch_size, workers=config.workers,
                                  backend=backend, progress=False)
    with tempfile.TemporaryDirectory(dir=work, prefix="fast-") as store:
        result = evaluate(source, scheme, [model], store, settings)
        probs, valid = ModelStore.open(store, model.ref.name).load("mean-1")
    if not valid.all():
        raise ReproError(f"{int((~valid).sum())} images of {source.root} could not be read: "
                         f"{sorted(result.failures)[:3]}")
    return probs, round(len(probs) / result.runs[0].forward_seconds, 2)


def _errors(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    return tuple(round(error_rate(topk_correct(probs, labels, k)).rate, 4) for k in (1, 5))


def run_fast_modes(config: FastModesConfig) -> pd.DataFrame:
    """Score every backend of ``config`` and the fp32 reference; writes ``fast_modes.csv`` and its
    rows of ``targets.csv`` under ``config.out``; returns the table."""
    samples = config.shared / "imagenet-samples"
    sets = {"class samples": (sample_index(samples, config.step), samples)}
    if config.val:
        val = config.shared / "ilsvrc2012-val-sample" / "test_images"
        sets["ilsvrc2012 val"] = (val_index(val, config.shared / "ilsvrc2014-devkit"), val)
    model = load_model(parse_ref(config.model))
    rows = []
    with tempfile.TemporaryDirectory(prefix="fast-modes-") as tmp:
        work = Path(tmp)
        calibration, n_calibration = _calibration_folder(samples, config, work)
        texts = {name: backend_with(name, calibration=calibration, calibration_images=n_calibration)
                 if parse_backend(name)[0] == "mxnet-int8" else name
                 for name in (config.reference, *config.backends)}
        reference, cpu = {}, _cpu_note()
        for name, text in texts.items():
            probe, kernels = _kernels(name, text, config.model)
            for set_name, (index, root) in sets.items():
                rows.append(_row(model, name, text, set_name, index, root, config, work, reference,
                                 n_calibration, probe["isa"], f"{kernels}; {cpu}"))
    frame = schema.frame_of(schema.BENCH_FAST_MODES, rows).astype({"calibration_images": "Int64"})
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    schema.write_frame_at(schema.BENCH_FAST_MODES, frame, out / schema.BENCH_FAST_MODES.basename)
    targets_path = out / schema.BENCH_TARGETS.basename
    schema.write_frame_at(schema.BENCH_TARGETS, merged_targets(
        targets_path, check_fast_mode_targets(frame, config.model), FAST_MODES_PREFIX), targets_path)
    return frame


def _cpu_note() -> str:
    machine, flags = describe_machine(measure=False), cpu_flags()
    amx = sorted(flag for flag in flags if flag.startswith("amx"))
    return (f"CPU {machine.cpu}, {machine.simd}, AMX flags: {' '.join(amx) or 'none'}, AVX-512 "
            f"{'yes' if 'avx512f' in flags else 'no'}")


def _kernels(name: str, text: str, model: str) -> tuple[dict, str]:
    """The oneDNN probe of one backend and its words for the note (ONNX Runtime has its own)."""
    if not parse_backend(name)[0].startswith("mxnet"):
        return {"isa": ""}, "ONNX Runtime's own CPU kernels (MLAS), not oneDNN"
    probe = onednn_kernels(backend_with(text, calibration_images=8) if "calibration" in text else text,
                           model)
    words = (f"oneDNN {probe['isa'] or 'not used'}; AMX kernels: {'yes' if probe['amx'] else 'no'}; "
             f"convolutions run: {describe(probe['kernels'])}")
    return probe, words + (f"; failed: {probe['error']}" if probe["error"] else "")


def _row(model, name: str, text: str, set_name: str, index: LabelIndex, root: Path,
         config: FastModesConfig, work: Path, reference: dict, n_calibration: int, isa: str,
         kernels: str) -> dict:
    """One (backend, image set) row; the reference backend's probabilities are kept in ``reference``."""
    precision = BACKENDS.get(parse_backend(name)[0]).precision
    labels = np.asarray(index.class_indices)
    row = {"backend": name, "precision": precision, "images_set": set_name, "images": len(index),
           "calibration_images": n_calibration if precision == "int8" else None,
           "onednn_isa": isa, "load": load_average()}
    try:
        probs, rate = _scored(model, text, ImageSource(index, root), config, work)
    except (mx.base.MXNetError, ReproError) as exc:  # a kernel this CPU's oneDNN build does not have
        first = str(exc).strip().splitlines()[0]
        why = (BF16_WITHOUT_AVX512 if precision == "bf16" and "avx512f" not in cpu_flags()
               and isinstance(exc, mx.base.MXNetError) else "")
        return {**row, "note": f"could not run on this CPU: {first}{why}; {kernels}"}
    top1, top5 = _errors(probs, labels)
    if name == config.reference:
        reference[set_name] = (probs, top1, top5, rate)
    base, base_top1, base_top5, base_rate = reference[set_name]
    return {**row, "top1_agreement": round(float((probs.argmax(1) == base.argmax(1)).mean()), 4),
            "top5_agreement": round(float(same_top5(probs, base).mean()), 4),
            "top1_err": top1, "top5_err": top5, "top1_err_diff": round(top1 - base_top1, 4),
            "top5_err_diff": round(top5 - base_top5, 4), "crops_per_s": rate,
            "speedup": round(rate / base_rate, 3),
            "note": f"{config.model}, 1 crop at {model.ref.input_size} px, batch {config.batch_size}; "
                    f"crops/s: the network's forward time inside the engine; {kernels}"
                    + (f"; calibrated on {n_calibration} class samples not scored" if precision == "int8"
                       else "")}

