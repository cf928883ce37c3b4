"""What the full Table 3 would cost: the measured crops/s of `repro bench` projected onto
50,000 images x 7 models x 144 crops split over N machines with ``--shard K/N``.

A projection, not a measurement: it assumes every machine runs at the measured rate of this one and
that the shards do not slow each other (they share only the store's directory and its locks). The
rate per backend is the 144-crop end-to-end rate of ``googlenet-paper`` when the benchmark measured
it, else its best bare-network rate (an upper bound of the end-to-end rate). The merge time is the
4-shard `repro merge` of the full-size store timed by `repro bench --scale` (artefact
``bench_scale``, step ``merge``) when that ran; merging N shards copies the same chunks, so it is
taken as the same for every N.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from repro import results_schema as schema

FULL_IMAGES, FULL_MODELS, FULL_CROPS = 50_000, 7, 144
FULL_FORWARDS = FULL_IMAGES * FULL_MODELS * FULL_CROPS  # 50.4 M crops
MACHINES = (1, 4, 16, 64)
MODEL = "googlenet-paper"
SCALE_ARTEFACT, MERGE_STEP = "bench_scale", "merge"


def backend_rates(tables: dict[str, pd.DataFrame], model: str = MODEL) -> pd.DataFrame:
    """Per backend of ``model``: crops/s, precision and where the rate comes from (end to end at 144
    crops, else the best batch of the bare network), from `repro bench`'s tables by artefact id."""
    rows = {}
    bare = tables.get(schema.BENCH_BARE.id)
    if bare is not None:
        for backend, group in bare[bare["model"] == model].groupby("backend", sort=False):
            best = group.loc[group["crops_per_s"].idxmax()]
            rows[backend] = {"backend": backend, "precision": best["precision"],
                             "crops_per_s": float(best["crops_per_s"]),
                             "basis": f"bare network, batch {int(best['batch'])} (upper bound)"}
    e2e = tables.get(schema.BENCH_END_TO_END.id)
    if e2e is not None:
        for row in e2e[(e2e["model"] == model) & (e2e["crops_per_image"] == FULL_CROPS)].itertuples():
            rows[row.backend] = {"backend": row.backend, "precision": row.precision,
                                 "crops_per_s": float(row.crops_per_s),
                                 "basis": f"end to end, {FULL_CROPS} crops, {int(row.images)} images"}
    return pd.DataFrame(list(rows.values()), columns=["backend", "precision", "crops_per_s", "basis"])


def merge_seconds(results: str | Path) -> float | None:
    """The measured `repro merge` time of the full-size store under ``results`` (None: not measured)."""
    if SCALE_ARTEFACT not in schema.ARTEFACTS:
        return None
    frame = schema.read_if_present(SCALE_ARTEFACT, results)
    if frame is None:
        return None
    merges = frame[frame["step"].astype(str).str.contains(MERGE_STEP)]["seconds"].dropna()
    return float(merges.iloc[0]) if len(merges) else None


def projection(rates: pd.DataFrame, merge: float | None) -> pd.DataFrame:
    """Hours of the full Table 3's forwards per backend on each machine count of :data:`MACHINES`:
    ``FULL_FORWARDS / (crops/s x N)`` plus the merge time when measured."""
    frame = rates.copy()
    for n in MACHINES:
        frame[f"hours_{n}"] = (FULL_FORWARDS / (frame["crops_per_s"] * n) + (merge or 0.0)) / 3600
    return frame


def projection_notes(merge: float | None, machine: str) -> list[str]:
    """What the projection assumes, with the measured inputs."""
    merge_text = (f"plus the measured `repro merge` of 4 full-size shards, {merge:.0f} s, taken as the "
                  f"same for every N" if merge is not None else
                  "merge time not measured (no results/bench/scale.csv from `repro bench --scale`): "
                  "not included")
    return [f"A projection, not a measurement: {FULL_IMAGES:,} images x {FULL_MODELS} models x "
            f"{FULL_CROPS} crops = {FULL_FORWARDS / 1e6:.1f} M forwards of {MODEL} at 224 px, divided "
            f"by the crops/s measured on {machine} times N such machines (`--shard K/N`, K = 1..N), "
            f"{merge_text}.",
            "Only the fp32 backends reproduce the table (within 1e-4 of plain mxnet); bf16 and int8 "
            "change answers (the benchmark's agreement table).",
            "Assumes the shards do not slow each other (each reads its own images and writes its own "
            "chunks) and the images are local to each machine."]

