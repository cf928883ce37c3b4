"""`repro bench --scale`: what a full-size run costs beyond the networks, measured on this machine.

Three parts, each command in its own process (its peak RSS is its own, ``wait4``):

1. a synthetic store of the paper's size (7 members x 50,000 images x 1,000 classes, every reduction
   of a 144-crop pass, ~11 GB) written through :class:`~repro.engine.store.ModelStore` as 4 shards
   in 4 store directories, as 4 machines would write them (:mod:`repro.bench.scale_store`);
2. `repro merge` of the 4 shards into one store, then the readers over it: `repro table 3`,
   `repro ensemble --crops 144`, `repro report` (and a reversed Table 3 with `report --compare`);
3. `repro evaluate` (1 crop, a narrow network at a small input, so the engine's own costs show) on
   indexes of 1,000, 10,000 and 50,000 generated JPEGs: peak RSS and seconds per image must not grow
   with the index; the fitted slopes (MB per 10k images, s per image) are reported.

After part 2, `repro table 3` runs once more under cProfile (``scale_profile.md``: where the reads
spend their time, beside its timed wall and CPU seconds). Rows go to ``scale.csv`` and their targets
into ``targets.csv`` (:func:`repro.bench.targets.check_scale_targets`) beside the other runs' rows.
Everything else lives in a temporary folder of ``work_dir``, deleted at the end.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from repro import results_schema as schema
from repro.atomic import write_text
from repro.bench.images import bench_index, generate_images
from repro.bench.memory import evaluation_peak_rss
from repro.bench.scale_store import (
    drop_from_page_cache,
    profiled_command,
    read_benchmark,
    table3_arguments,
    timed_command,
    write_synthetic_store,
)
from repro.bench.targets import SCALE_PREFIX, check_scale_targets, merged_targets
from repro.bench.timing import load_average
from repro.engine.crops import get_scheme
from repro.engine.reductions import reductions_for
from repro.errors import ReproError
from repro.models.refs import parse_ref

#: free space wanted in the work folder, over the store's size: the shards, then the merged copy.
SPACE_FACTOR = 1.9


@dataclass(frozen=True)
class ScaleConfig:
    """The sizes of one scale run; the defaults are the paper's full size (~30 min on 2 cores)."""

    out: Path
    work_dir: Path
    models: int = 7
    images: int = 50_000
    classes: int = 1000
    shards: int = 4
    chunk_images: int = 64  # `repro evaluate`'s default
    cold: bool = True  # drop the store's pages from the page cache before each command
    profile: bool = True  # `repro table 3` once more under cProfile: scale_profile.md
    eval_images: tuple[int, ...] = (1000, 10_000, 50_000)
    eval_model: str = "googlenet-paper"
    eval_width: float = 0.0625
    eval_input: int = 64
    eval_classes: int = 1000
    eval_backend: str = "mxnet"
    eval_batch: int = 64
    workers: int = 2
    image_size: tuple[int, int] = (96, 72)  # (width, height) of the generated JPEGs

    @property
    def size(self) -> str:
        """The synthetic store's shape, as the rows name it."""
        return f"{self.models} x {self.images} x {self.classes}"

    @property
    def evaluated(self) -> str:
        """The network `repro evaluate` runs, as the rows name it."""
        return (f"{self.eval_model} width {self.eval_width:g} at {self.eval_input} px / "
                f"{self.eval_backend}")


def store_bytes(config: ScaleConfig) -> int:
    """The synthetic store's probability bytes (float32, every reduction of a 144-crop pass)."""
    return 4 * config.models * config.images * config.classes * len(reductions_for(get_scheme("144")))


def _check_space(config: ScaleConfig) -> None:
    free, needed = shutil.disk_usage(config.work_dir).free, SPACE_FACTOR * store_bytes(config)
    if free < needed:
        raise ReproError(f"--work-dir {config.work_dir} has {free / 2**30:.1f} GB free; the scale run "
                         f"needs ~{needed / 2**30:.1f} GB for a {config.size} store (its shards and "
                         f"their merge): give another --work-dir, or fewer --scale-images")


def _store_rows(config: ScaleConfig, work: Path) -> list[dict]:
    """Write the shards, merge them (timed), then time the readers over the merged store."""
    scheme = get_scheme("144")
    shards = [work / f"shard-{k}" for k in range(1, config.shards + 1)]
    load, start, cpu = load_average(), time.perf_counter(), time.process_time()
    for k, root in enumerate(shards, start=1):
        write_synthetic_store(root, config.models, config.images, config.classes, scheme,
                              config.chunk_images, shard=(k, config.shards))
    written_mb = sum(p.stat().st_size for root in shards for p in root.rglob("*") if p.is_file()) / 2**20
    rows = [{"step": "write", "seconds": round(time.perf_counter() - start, 2),
             "cpu_seconds": round(time.process_time() - cpu, 2), "store_mb": round(written_mb, 1),
             "load": load, "note": f"{config.shards} shard store directories through ModelStore, "
                                   f"{config.chunk_images} images per chunk"}]
    sources = [arg for root in shards[1:] for arg in ("--from", str(root))]
    rows.append({**timed_command("merge", ["merge", "--store", str(shards[0]), *sources],
                                 work if config.cold else None),
                 "store_mb": round(written_mb, 1),
                 "note": f"`repro merge --store SHARD1 --from ...` of {config.shards} shard directories "
                         f"(copies the others' chunks, hashes every chunk, writes the manifests)"})
    for root in shards[1:]:
        shutil.rmtree(root)
    reads = read_benchmark(shards[0], work / "results", config.cold)
    if config.profile:
        if config.cold:
            drop_from_page_cache(shards[0])
        profile = profiled_command(table3_arguments(shards[0], work / "results"), work)
        write_text(Path(config.out) / schema.BENCH_SCALE_PROFILE.basename, _profile_markdown(
            config, next(row for row in reads if row["step"] == "table3"), profile))
    shutil.rmtree(shards[0])  # ~11 GB at full size: not kept while the evaluations run
    return rows + [{**row, "note": _READ_NOTES[row["step"]]} for row in reads]


_READ_NOTES = {
    "table3": "`repro table 3 --store S --out R`: Table 3, its curves, the ablation",
    "ensemble": "`repro ensemble --store S --crops 144`",
    "report": "`repro report --results R`",
    "table3-reversed": "`repro table 3` of the members in reverse order (for --compare)",
    "report --compare": "`repro report --results R --compare R2`: paired tests read the stores",
}


def _profile_markdown(config: ScaleConfig, timed: dict, profile: str) -> str:
    return "\n".join([
        f"# `repro table 3` on the synthetic {config.size} store, profiled", "",
        f"Timed without the profiler in the same run: {timed['seconds']:.1f} s wall, "
        f"{timed['cpu_seconds']:.1f} s CPU (user + system), {timed['peak_rss_mb']:.0f} MB peak RSS, "
        f"load average {timed['load']} on {len(os.sched_getaffinity(0))} CPUs before it (cold cache: "
        f"{timed['cold_cache']}). Wall well above CPU is time spent waiting for the disk or for cores "
        f"other processes hold. Below: cProfile of a second run (its times include the profiler's "
        f"overhead), by own time, then by cumulative time. Written by `repro bench --scale`.", "",
        "```", profile.strip(), "```", ""])


def _evaluate_rows(config: ScaleConfig, work: Path) -> list[dict]:
    """`repro evaluate` over growing indexes of generated JPEGs, then the fitted slopes."""
    ref = parse_ref(config.eval_model, classes=config.eval_classes, width=config.eval_width,
                    input_size=config.eval_input)
    root = generate_images(work / "images", max(config.eval_images), sizes=(config.image_size,))
    rows = []
    for count in sorted(config.eval_images):
        measured = evaluation_peak_rss(ref, bench_index(root, count), root, "1", config.eval_backend,
                                       config.eval_batch, config.workers, work, engine_time=True)
        rows.append({"step": "evaluate", "images": count, "classes": config.eval_classes, "crops": 1,
                     "seconds": measured["process_seconds"], "cpu_seconds": measured["cpu_seconds"],
                     "peak_rss_mb": measured["peak_rss_mb"],
                     "seconds_per_image": round(measured["engine_seconds"] / count, 6),
                     "load": measured["load"],
                     "note": f"{config.evaluated}, {config.image_size[0]}x{config.image_size[1]} "
                             f"JPEGs; seconds: the process, seconds_per_image: the evaluation's own "
                             f"wall time (store run record) per image"})
    return rows + [_slope_row(rows)]


def _slope_row(rows: list[dict]) -> dict:
    """Least-squares slopes over the evaluate rows: peak RSS per 10k images, engine s per image."""
    images = np.array([row["images"] for row in rows], dtype=float)
    rss = np.polyfit(images, [row["peak_rss_mb"] for row in rows], 1)
    seconds = np.polyfit(images, [row["seconds_per_image"] * row["images"] for row in rows], 1)
    return {"step": "evaluate slope", "images": int(images.max()), "crops": 1,
            "classes": rows[0]["classes"], "rss_mb_per_10k_images": round(float(rss[0]) * 1e4, 2),
            "seconds_per_image": round(float(seconds[0]), 6), "load": rows[-1]["load"],
            "note": f"least squares over {len(rows)} indexes ({', '.join(str(r['images']) for r in rows)} "
                    f"images): peak RSS = {rss[1]:.0f} MB + slope; evaluation wall = "
                    f"{seconds[1]:.1f} s + slope x images"}


def run_scale(config: ScaleConfig) -> pd.DataFrame:
    """Run every part of ``config``; writes ``scale.csv`` and its rows of ``targets.csv`` under
    ``config.out`` and returns the scale table."""
    Path(config.work_dir).mkdir(parents=True, exist_ok=True)
    _check_space(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scale-", dir=config.work_dir))
    try:
        store_rows = [{"models": config.models, "images": config.images, "classes": config.classes,
                       "crops": 144, "cold_cache": config.cold, **row}
                      for row in _store_rows(config, work)]
        rows = store_rows + [{"models": 1, "cold_cache": False, **row} for row in _evaluate_rows(config, work)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    frame = schema.frame_of(schema.BENCH_SCALE, rows)
    schema.write_frame_at(schema.BENCH_SCALE, frame, out / schema.BENCH_SCALE.basename)
    targets_path = out / schema.BENCH_TARGETS.basename
    schema.write_frame_at(schema.BENCH_TARGETS, merged_targets(
        targets_path, check_scale_targets(frame, config.size, config.evaluated), SCALE_PREFIX), targets_path)
    return frame
