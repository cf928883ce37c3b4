"""The read side at full size: a synthetic store as big as the paper's (7 members x 50,000 images x
1,000 classes, every reduction of a 144-crop pass), written through the real writer, and the
commands that read it timed with their peak RSS, each in its own process.

The probabilities are synthetic (random rows with the label's class boosted, more so for more
crops, so the tables have an order); what is measured is what reading costs: `repro table 3`,
`repro ensemble` and `repro report` (their targets: :mod:`repro.bench.targets`). The store's pages
can be dropped from the page cache first (``cold=True``, ``posix_fadvise(DONTNEED)``: no privileges
needed), so the time includes the disk (as far as the guest sees it: a virtual disk may be cached by
its host). A store can be written as one shard of N (as `repro evaluate --shard K/N` writes it), so
`repro merge` of the shards is timed too (:mod:`repro.bench.scale`).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from repro.bench.timing import run_child
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.crops import CropScheme
from repro.engine.identity import DataRecord
from repro.engine.reductions import reductions_for
from repro.engine.store import ModelStore, StoreSpec, shard_chunks
from repro.errors import ReproError
from repro.provenance import manifest


def synthetic_index(images: int, classes: int) -> LabelIndex:
    """``images`` file names labelled round-robin over ``classes`` synthetic WNIDs."""
    return LabelIndex.from_rows((f"img_{i:08d}.JPEG", f"n{i % classes:08d}", i % classes)
                                for i in range(images))


def _spec(member: int, scheme: CropScheme, index: LabelIndex, classes: int, chunk_images: int) -> StoreSpec:
    return StoreSpec(
        model_key=f"synthetic-m{member}", model_ref="synthetic", model_id="synthetic",
        weights_sha256=hashlib.sha256(f"synthetic member {member}".encode()).hexdigest(),
        classes=classes, width=1.0, seed=member, scheme_id=scheme.id, scheme_version=scheme.version,
        crop_size=scheme.crop_size, n_crops=scheme.n_crops,
        reductions=tuple(r.name for r in reductions_for(scheme)), interpolation="bilinear",
        backend="synthetic", precision="fp32", exif_orientation=False, index_sha256=index.hash,
        n_images=len(index), data=DataRecord("folder", images="synthetic"),
        chunk_images=chunk_images, batch_images=1)


def write_synthetic_store(root: str | Path, models: int, images: int, classes: int,
                          scheme: CropScheme, chunk_images: int = 64, seed: int = 0,
                          shard: tuple[int, int] = (1, 1)) -> list[ModelStore]:
    """A store of ``models`` members under ``root``, written chunk by chunk through
    :class:`ModelStore` (as `repro evaluate --crops 144` chunks it by default): every chunk and
    the manifests, or only the chunks of ``shard`` K/N (no manifest; `repro merge` completes it).
    A chunk's values depend only on ``seed``, the member and the chunk, so shards merge into
    exactly the store written whole."""
    root = Path(root)
    index = synthetic_index(images, classes)
    index.to_csv(root / "index.csv")
    labels = np.asarray(index.class_indices)
    reductions = reductions_for(scheme)
    stores = []
    for member in range(models):
        store = ModelStore.open_or_create(root, _spec(member, scheme, index, classes, chunk_images))
        for chunk in shard_chunks(store.spec.n_chunks, shard):
            rng = np.random.default_rng([seed, member, chunk])
            rows = store.spec.chunk_rows(chunk)
            base = rng.random((len(rows), classes), dtype=np.float32)
            picked = (np.arange(len(rows)), labels[rows.start:rows.stop])
            arrays = {}
            for position, reduction in enumerate(reductions):
                probs = base.copy()
                probs[picked] += np.float32(0.5 + 0.5 * position / len(reductions))  # top-1 50%..100%
                probs /= probs.sum(axis=1, keepdims=True)
                arrays[reduction.name] = probs
            store.write_chunk(chunk, np.ones(len(rows), dtype=bool), arrays)
        if shard == (1, 1):
            store.write_manifest(manifest(kind="synthetic-store", seed=seed))
        stores.append(store)
    return stores


def drop_from_page_cache(root: str | Path) -> None:
    """Ask the kernel to drop the cached pages of every file under ``root`` (clean pages only)."""
    for path in Path(root).rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def timed_command(name: str, arguments: list[str], cold_root: Path | None = None) -> dict:
    """One row: wall seconds, CPU seconds (user + system) and peak RSS (MB) of ``repro ARGUMENTS``
    in a fresh interpreter (``wait4``'s usage of that child), the load average before it; with
    ``cold_root``, that directory's pages are dropped first. Wall well above CPU is time spent
    waiting: for the disk, or for cores other processes hold."""
    if cold_root is not None:
        drop_from_page_cache(cold_root)
    run = run_child([sys.executable, "-m", "repro", *arguments], f"`repro {' '.join(arguments)}` failed")
    return {"step": name, "seconds": run.seconds, "cpu_seconds": run.cpu_seconds,
            "peak_rss_mb": run.peak_rss_mb, "cold_cache": cold_root is not None, "load": run.load}


def _results_with(store: Path, results: Path) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    if not (results / "stores").exists():
        (results / "stores").symlink_to(store.resolve(), target_is_directory=True)
    return results


def read_benchmark(store: str | Path, results: str | Path, cold: bool = False) -> list[dict]:
    """Time `repro table 3`, `repro ensemble --crops 144` and `repro report` (alone, and with
    ``--compare`` of a second Table 3 of the members in reverse order, whose paired tests read the
    stores) over ``store``; tables and reports go under ``results`` (which link the store in, as a
    reproduction does). With ``cold``, the store's pages are dropped from the cache before each."""
    store, results = Path(store), Path(results)
    main, swapped = _results_with(store, results / "main"), _results_with(store, results / "swapped")
    cold_root = store if cold else None
    keys = sorted(p.parent.name for p in store.glob("*/store.json"))
    rows = [timed_command("table3", table3_arguments(store, results), cold_root),
            timed_command("ensemble", ["ensemble", "--store", str(store), "--crops", "144"], cold_root),
            timed_command("report", ["report", "--results", str(main), "--out",
                                     str(main / "report")], cold_root),
            timed_command("table3-reversed", ["table", "3", "--store", str(store), "--out", str(swapped),
                                              "--models", ",".join(reversed(keys))], cold_root)]
    rows.append(timed_command("report", ["report", "--results", str(main), "--compare", str(swapped),
                                         "--out", str(main / "report-compare")], cold_root))
    rows[-1]["step"] = "report --compare"
    return rows


def table3_arguments(store: Path, results: Path) -> list[str]:
    """The `repro table 3` that :func:`read_benchmark` times (to profile it the same way)."""
    return ["table", "3", "--store", str(store), "--out", str(results / "main"), "--dataset-name",
            "synthetic"]


def profiled_command(arguments: list[str], work: Path, top: int = 25) -> str:
    """``repro ARGUMENTS`` once more under cProfile (not timed: the profiler slows it), its
    ``top`` functions by own time and by cumulative time, as text."""
    import io
    import pstats

    stats_path = work / "profile.pstats"
    child = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats_path), "-m", "repro",
                            *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if child.returncode != 0:
        raise ReproError(f"profiling `repro {' '.join(arguments)}` failed:\n{child.stderr[-2000:]}")
    text = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    stats_path.unlink()
    return text.getvalue()
