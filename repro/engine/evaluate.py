"""The evaluation engine: images -> crops -> every model -> reductions -> the probability store.

Crops are decoded and cut once per image and fed to every model of the run. Work is done chunk by
chunk (fixed blocks of images); each chunk is written atomically when complete, so the run resumes
after any interruption and a shard K/N only touches its own chunks. Batches are aligned to chunks
and padded to a fixed shape, so every image always sees the same batch composition: resumed, sharded
and repeated runs give bit-identical stores.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import mxnet as mx
import numpy as np

from repro.atomic import write_bytes
from repro.data.decode import decode_image
from repro.data.ilsvrc.labels import LabelIndex
from repro.data.label_sources import LabelSource, image_root, require_images, resolve_labels
from repro.engine.crops import CropScheme, extract_crops, get_scheme
from repro.engine.identity import backend_identity, data_record
from repro.engine.pipeline import prepare_ordered
from repro.engine.reductions import reductions_for
from repro.engine.store import ModelStore, StoreSpec, shard_chunks
from repro.errors import ReproError
from repro.models.backends import AUTO, build_predictor, resolve_backend
from repro.models.refs import LoadedModel, load_model, parse_ref
from repro.progress import progress_bar
from repro.provenance import manifest

SHOWN_MISSES = 20  # missed files listed in the summary (all are in the manifest)


@dataclass(frozen=True)
class ImageSource:
    """The images of a canonical index, read from files under ``root``."""

    index: LabelIndex
    root: Path
    load: Callable[..., np.ndarray] = decode_image  # load(path, exif_orientation=...), as decode_image
    exif_orientation: bool = False  # apply the EXIF Orientation tag (repro.data.decode)

    def filename(self, row: int) -> str:
        """File name (relative to ``root``) of dataset row ``row``."""
        return self.index.filenames[row]

    def image(self, row: int) -> np.ndarray:
        """Decoded (H, W, 3) uint8 RGB image of ``row``."""
        return self.load(self.root / self.filename(row), exif_orientation=self.exif_orientation)


@dataclass
class EvaluationSettings:
    """How to run: batching, chunking, sharding, failure policy, pipeline width."""

    batch_size: int = 144  # crops per forward pass (rounded down to whole images, at least one)
    chunk_min_images: int = 64
    shard: tuple[int, int] = (1, 1)
    on_error: str = "fail"  # "fail": finish the other chunks, then exit non-zero; "miss": count as wrong
    per_crop: bool = False
    interpolation: str = "bilinear"
    workers: int = 2
    prefetch: int = 8
    ctx: tuple[mx.Context, ...] = (mx.cpu(),)
    backend: str = AUTO  # a key of repro.models.backends.BACKENDS, or auto (resolved per model)
    progress: bool = True

    def batch_images(self, scheme: CropScheme) -> int:
        """Images per forward pass."""
        return max(1, self.batch_size // scheme.n_crops)

    def chunk_images(self, scheme: CropScheme) -> int:
        """Images per chunk: a whole number of batches, at least ``chunk_min_images``."""
        per_batch = self.batch_images(scheme)
        return per_batch * -(-self.chunk_min_images // per_batch)


@dataclass
class ModelRun:
    """What one model's part of a run did."""

    store: ModelStore
    computed_chunks: int = 0
    computed_images: int = 0  # the images of the chunks computed (and written) this run
    forward_seconds: float = 0.0


@dataclass
class EvaluationResult:
    """Outcome of :func:`evaluate`: per-model stores, failures, timing."""

    runs: list[ModelRun]
    n_images: int
    failures: dict[str, str] = field(default_factory=dict)  # filename -> error, this run
    unwritten_chunks: set[int] = field(default_factory=set)  # chunks left out for a failure (on_error fail)
    missed: dict[str, str] = field(default_factory=dict)  # complete store: every missed file -> why
    wall_seconds: float = 0.0
    complete: bool = False


def _store_spec(model: LoadedModel, scheme: CropScheme, source: ImageSource,
                settings: EvaluationSettings, backend_text: str) -> StoreSpec:
    """Everything that changes a stored probability of ``model`` in this run (``backend_text``: the
    resolved backend that runs it)."""
    backend, precision = backend_identity(backend_text, scheme.crop_size)
    return StoreSpec(
        model_key=model.ref.name, model_ref=model.ref.text, model_id=model.spec.id,
        weights_sha256=model.weights_sha256, classes=model.ref.classes, width=model.ref.width,
        seed=model.ref.seed, scheme_id=scheme.id,
        scheme_version=scheme.version, crop_size=scheme.crop_size, n_crops=scheme.n_crops,
        reductions=tuple(r.name for r in reductions_for(scheme)),
        interpolation=settings.interpolation, backend=backend, precision=precision,
        exif_orientation=source.exif_orientation, index_sha256=source.index.hash,
        n_images=len(source.index), data=data_record(source.root, source.index),
        chunk_images=settings.chunk_images(scheme), batch_images=settings.batch_images(scheme),
        per_crop=settings.per_crop)


def _write_index(store_root: Path, index: LabelIndex) -> None:
    path = store_root / "index.csv"
    if path.exists():
        existing = LabelIndex.from_csv(path)
        if existing.hash != index.hash:
            raise ReproError(f"{path} holds another dataset index (sha256 {existing.hash[:12]}, this "
                             f"run {index.hash[:12]}); use another --store directory")
    else:
        write_bytes(path, index.csv_bytes())


def evaluate(source: ImageSource, scheme: CropScheme, models: list[LoadedModel],
             store_root: str | Path, settings: EvaluationSettings = EvaluationSettings()
             ) -> EvaluationResult:
    """Evaluate ``models`` on ``source`` with ``scheme`` into ``store_root``; resumes what exists."""
    if settings.on_error not in ("fail", "miss"):
        raise ReproError(f"on_error must be 'fail' or 'miss', not {settings.on_error!r}")
    if not models:
        raise ReproError("no model to evaluate: give at least one --model")
    keys = [m.ref.name for m in models]
    if len(set(keys)) != len(keys):
        raise ReproError(f"two models would share one store key ({', '.join(keys)}); give each a "
                         f"distinct weights file or model card name")
    for model in models:
        if model.ref.input_size != scheme.crop_size:
            raise ReproError(f"model {model.ref.text} takes {model.ref.input_size}px input but the "
                             f"crop scheme {scheme.id} cuts {scheme.crop_size}px crops: pass "
                             f"--crop-size {model.ref.input_size}")
    if source.index.labelled:
        top = max(source.index.class_indices)
        for model in models:
            if top >= model.ref.classes:
                row = source.index.class_indices.index(top)
                raise ReproError(f"{source.index.filenames[row]} has class index {top}, but model "
                                 f"{model.ref.text} has {model.ref.classes} classes: the labels and "
                                 f"the model's class space differ (pass --classes or another model)")
    store_root = Path(store_root)
    started = time.perf_counter()
    _write_index(store_root, source.index)
    reductions = reductions_for(scheme)
    backends = [resolve_backend(settings.backend, m, settings.ctx) for m in models]
    runs = [ModelRun(ModelStore.open_or_create(store_root, _store_spec(m, scheme, source, settings, b)))
            for m, b in zip(models, backends)]
    spec = runs[0].store.spec
    wanted = set(shard_chunks(spec.n_chunks, settings.shard))
    todo = {i: sorted(wanted & set(run.store.missing_chunks())) for i, run in enumerate(runs)}
    chunks = sorted(set().union(*todo.values()))
    result = EvaluationResult(runs, len(source.index))

    with contextlib.ExitStack() as stack:
        for run in runs:
            stack.enter_context(run.store.lock(settings.shard))
        batch_shape = (spec.batch_images * scheme.n_crops, scheme.crop_size, scheme.crop_size, 3)
        predictors = [build_predictor(m, b, settings.ctx, batch_shape) for m, b in zip(models, backends)]

        rows = [r for c in chunks for r in spec.chunk_rows(c)]
        prepared = prepare_ordered(
            rows, lambda r: extract_crops(source.image(r), scheme, settings.interpolation),
            settings.workers, settings.prefetch)
        bar = stack.enter_context(progress_bar(settings.progress, total=len(rows), unit="img",
                                       smoothing=0.1, desc=f"{scheme.id} x {len(models)} model(s)"))
        for chunk in chunks:
            chunk_rows = spec.chunk_rows(chunk)
            needing = [i for i in range(len(runs)) if chunk in todo[i]]
            outputs = {i: {r.name: [] for r in reductions} | ({"crops": []} if settings.per_crop else {})
                       for i in needing}
            valid = np.ones(len(chunk_rows), dtype=bool)
            for start in range(0, len(chunk_rows), spec.batch_images):
                count = min(spec.batch_images, len(chunk_rows) - start)
                batch = np.zeros((spec.batch_images, scheme.n_crops, scheme.crop_size,
                                  scheme.crop_size, 3), dtype=np.uint8)
                for j in range(count):
                    item = next(prepared)
                    if item.error is not None:
                        valid[start + j] = False
                        result.failures[source.filename(item.row)] = item.error
                    else:
                        batch[j] = item.crops
                flat = batch.reshape((-1,) + batch.shape[2:])
                for i in needing:
                    tick = time.perf_counter()
                    probs = predictors[i](flat)
                    runs[i].forward_seconds += time.perf_counter() - tick
                    probs = probs.reshape(spec.batch_images, scheme.n_crops, -1)[:count]
                    probs[~valid[start:start + count]] = np.nan
                    for reduction in reductions:
                        outputs[i][reduction.name].append(reduction.apply(probs))
                    if settings.per_crop:
                        outputs[i]["crops"].append(probs.astype(np.float32))
                bar.update(count)
            if not valid.all() and settings.on_error == "fail":
                result.unwritten_chunks.add(chunk)
                continue  # not written: a re-run after fixing the files recomputes this chunk
            for i in needing:
                runs[i].store.write_chunk(chunk, valid,
                                          {k: np.concatenate(v) for k, v in outputs[i].items()})
                runs[i].computed_chunks += 1
                runs[i].computed_images += len(chunk_rows)
        bar.close()
        result.wall_seconds = time.perf_counter() - started
        for model, run, backend in zip(models, runs, backends):  # under the shard's lock
            if run.computed_chunks:
                # backend_given: what ran (auto resolved), so that an audit can rebuild it
                run.store.add_runs(run.store.run_path(settings.shard).name, [manifest(
                    shard=f"{settings.shard[0]}/{settings.shard[1]}",
                    device=[str(c) for c in settings.ctx], backend_given=backend,
                    backend_requested=settings.backend, workers=settings.workers,
                    scheme_note=scheme.note, scheme_deviation=scheme.deviation,
                    model_deviations=list(model.spec.deviations),
                    chunks_computed=run.computed_chunks, images_computed=run.computed_images,
                    crops_per_image=scheme.n_crops, models_in_run=sum(1 for r in runs if r.computed_chunks),
                    wall_seconds=round(result.wall_seconds, 3),
                    forward_seconds=round(run.forward_seconds, 3),
                    forward_seconds_all_models=round(sum(r.forward_seconds for r in runs), 3),
                    failures=result.failures)])

    result.complete = all(not run.store.missing_chunks() for run in runs)
    if result.complete:
        for run in runs:
            # every image the store holds as missed, with why (this run's error, or re-read now)
            result.missed = _missed_images(run.store, source, scheme, settings, result.failures)
            run.store.write_manifest(manifest(failures=result.missed))
    if result.failures and settings.on_error == "fail":
        listing = "\n".join(f"  {name}: {err}" for name, err in sorted(result.failures.items()))
        raise ReproError(f"{len(result.failures)} image(s) could not be evaluated, so the "
                         f"{len(result.unwritten_chunks)} chunk(s) of {spec.chunk_images} images holding "
                         f"them were not written (the other chunks were, and are kept). Fix or remove "
                         f"these files and re-run the same command, or pass --on-error miss to count "
                         f"them as wrong:\n{listing}")
    return result


def _missed_images(store: ModelStore, source: ImageSource, scheme: CropScheme,
                   settings: EvaluationSettings, failures: dict[str, str]) -> dict[str, str]:
    """Every image a complete store records as missed, with why: this run's error, or (missed in
    an earlier run of the same store) the error reading it gives now."""
    missed, failures = {}, dict(failures)
    for chunk in range(store.spec.n_chunks):
        valid = store.read_chunk(chunk)["valid"]  # checked read: a damaged chunk is an error naming it
        for row in np.flatnonzero(~valid) + chunk * store.spec.chunk_images:
            name = source.filename(int(row))
            if name not in failures:
                try:
                    extract_crops(source.image(int(row)), scheme, settings.interpolation)
                    failures[name] = (f"unreadable when {store.chunk_path(chunk).name} was computed, "
                                      f"readable now: delete that chunk and re-run to score it")
                except ReproError as exc:
                    failures[name] = str(exc)
            missed[name] = failures[name]
    return missed


def evaluate_references(source: LabelSource, images: Path | None, model_refs: Sequence[str],
                        store_root: str | Path, crops: str = "144",
                        settings: EvaluationSettings = EvaluationSettings(), *, crop_size: int | None = None,
                        classes: int = 1000, width: float = 1.0, seed: int = 0,
                        allow_download: bool = False) -> EvaluationResult:
    """`repro evaluate`: resolve the labels, the crop scheme (``crops``: a registered id or a crop
    count) and the model references, then :func:`evaluate` into ``store_root``."""
    index, _ = resolve_labels(source)
    root = image_root(source, images)
    require_images(source, index, root)  # before any model loads: a missing file is not a 40-minute surprise
    refs = [parse_ref(text, classes=classes, width=width, seed=seed, input_size=crop_size)
            for text in model_refs]
    scheme = get_scheme(crops).for_crop_size(crop_size or refs[0].input_size)
    models = [load_model(ref, settings.ctx[0], allow_download=allow_download) for ref in refs]
    return evaluate(ImageSource(index, root), scheme, models, store_root, settings)


def summary(result: EvaluationResult) -> str:
    """One line per model: images evaluated, missed, chunks computed, throughput."""
    lines = []
    for run in result.runs:
        spec = run.store.spec
        state = "complete" if not run.store.missing_chunks() else \
            f"{len(run.store.missing_chunks())} chunks left"
        lines.append(f"{spec.model_key}: {run.computed_chunks} chunk(s) computed this run, store "
                     f"{state} ({spec.n_images} images, {spec.n_crops} crops each)")
    if result.complete:
        record = json.loads(result.runs[0].store.manifest_path().read_text())
        lines.append(f"evaluated {record['n_evaluated']} of {record['n_images']} images "
                     f"({record['n_missed']} missed{', counted as wrong' if record['n_missed'] else ''}) "
                     f"in {result.wall_seconds:.1f} s")
        missed = sorted(result.missed.items())
        lines += [f"  missed {name}: {why}" for name, why in missed[:SHOWN_MISSES]]
        if len(missed) > SHOWN_MISSES:
            lines.append(f"  ... and {len(missed) - SHOWN_MISSES} more")
        if missed:
            lines.append(f"  (every missed file and why: 'failures' in each model's manifest, e.g. "
                         f"{result.runs[0].store.manifest_path()})")
    elif result.failures:
        lines.append(f"{len(result.failures)} image(s) missed by this run (counted as wrong):")
        lines += [f"  missed {name}: {why}" for name, why in sorted(result.failures.items())]
    return "\n".join(lines)
