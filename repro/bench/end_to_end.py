"""End to end: images/s of the evaluation engine for one crop scheme (decode, resize, crop, forward,
softmax, reductions and store writes), timed from the first image read to the finished store.

The clock starts at the first image the engine reads, after the backend is built and warmed up,
so a backend's one-time setup (ONNX export, int8 calibration) is not charged to throughput.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from repro.bench.timing import Timing, load_average
from repro.data.decode import decode_image
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.crops import CropScheme
from repro.engine.evaluate import EvaluationSettings, ImageSource, evaluate
from repro.models.backends import BACKENDS, parse_backend
from repro.models.refs import ModelRef, load_model


def _timed_run(ref: ModelRef, source: ImageSource, scheme: CropScheme, settings: EvaluationSettings,
               work_dir: Path) -> float:
    """Images/s of one evaluation into a fresh store."""
    model = load_model(ref)
    first_read: list[float] = []

    def load(path: Path, **options) -> np.ndarray:
        first_read.append(time.perf_counter())  # list.append is atomic: safe from worker threads
        return decode_image(path, **options)

    with tempfile.TemporaryDirectory(dir=work_dir, prefix="store-") as store:
        evaluate(dataclasses.replace(source, load=load), scheme, [model], store, settings)
        seconds = time.perf_counter() - min(first_read)
    return len(source.index) / seconds


def end_to_end(ref: ModelRef, index: LabelIndex, root: Path, scheme: CropScheme,
               settings: EvaluationSettings, repeats: int, work_dir: Path) -> dict:
    """One row: images/s (median, min, max of ``repeats`` evaluations of ``index``)."""
    name, _ = parse_backend(settings.backend)
    source = ImageSource(index, root)
    for filename in index.filenames:  # page cache warm, as in every run after the first
        (root / filename).read_bytes()
    load = load_average()
    timing = Timing(tuple(_timed_run(ref, source, scheme, settings, work_dir) for _ in range(repeats)), load)
    crops_per_forward = settings.batch_images(scheme) * scheme.n_crops
    return {"model": ref.spec_id, "backend": name, "precision": BACKENDS.get(name).precision,
            "scheme": scheme.id, "crops_per_image": scheme.n_crops, "images": len(index),
            "crops_per_forward": crops_per_forward, "workers": settings.workers,
            "prefetch": settings.prefetch, **timing.columns("images_per_s"),
            "crops_per_s": round(timing.median * scheme.n_crops, 2)}
