"""The bare network: crops/s on synthetic uint8 crops, per backend and batch size, and the FLOP/s
that implies from the counted multiply-adds, against the machine's peak."""
from __future__ import annotations

import gc

import mxnet as mx
import numpy as np

from repro.bench.timing import Timing, calls_for, measure_rate
from repro.models.backends import BACKENDS, backend_with, build_predictor, parse_backend
from repro.models.counting import count_rows
from repro.models.refs import ModelRef, load_model


def macs_per_crop(ref: ModelRef) -> int:
    """Multiply-adds of one crop (convolutions and the classifier), counted on a fresh network."""
    model = load_model(ref)
    return sum(row.macs for row in count_rows(model.net, model.spec.table1_rows, ref.input_size))


def synthetic_crops(batch: int, size: int, seed: int = 0) -> np.ndarray:
    """A ``(batch, size, size, 3)`` uint8 batch of random pixels (speed does not depend on them)."""
    return np.random.default_rng(seed).integers(0, 256, (batch, size, size, 3), dtype=np.uint8)


def _time_predictor(predict, data: np.ndarray, repeats: int, warmup: int, seconds: float
                    ) -> tuple[Timing, int]:
    """Crops/s of ``predict`` on ``data``: each timed run is as many calls as fill ~``seconds``."""
    calls = calls_for(seconds, lambda: predict(data))

    def run() -> int:
        for _ in range(calls):
            predict(data)
        return calls * len(data)

    return measure_rate(run, repeats, warmup), calls


def bare_network(ref: ModelRef, backend: str, batch_sizes: tuple[int, ...], repeats: int,
                 warmup: int, seconds: float, macs: int, peak_gflops: float | None) -> list[dict]:
    """One row per batch size: crops/s (median, min, max of ``repeats`` timed runs of ~``seconds``
    each), achieved GFLOP/s (2 FLOPs per multiply-add) and its fraction of ``peak_gflops``."""
    name, _ = parse_backend(backend)
    rows = []
    for batch in batch_sizes:
        # a fresh network (a backend rewires the one it wraps); micro_batch = batch: the network
        # itself at this batch size, not in the engine's pieces
        predict = build_predictor(load_model(ref), backend_with(backend, micro_batch=batch), (mx.cpu(),),
                                  (batch, ref.input_size, ref.input_size, 3))
        timing, calls = _time_predictor(predict, synthetic_crops(batch, ref.input_size), repeats, warmup,
                                        seconds)
        del predict  # free its memory before the next batch size is built
        gc.collect()
        gflops = timing.median * 2 * macs / 1e9
        rows.append({"model": ref.spec_id, "backend": name, "precision": BACKENDS.get(name).precision,
                     "batch": batch, **timing.columns("crops_per_s"), "calls_per_repeat": calls,
                     "macs_per_crop": macs, "gflops": round(gflops, 1), "peak_gflops": peak_gflops,
                     "peak_fraction": round(gflops / peak_gflops, 4) if peak_gflops else None})
    return rows
