"""Audit a store by re-evaluating a random sample of its images from scratch (MLPerf's TEST01 idea).

The model is rebuilt from the reference the store recorded and must have the recorded weights hash;
each sampled image is decoded, cropped and run again with the store's batch shape, and every stored
reduction is compared with the recomputation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import mxnet as mx
import numpy as np
from tqdm import tqdm

from repro.data.decode import decode_image
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.crops import extract_crops, get_scheme
from repro.engine.reductions import reductions_for
from repro.engine.store import ModelStore, list_models
from repro.errors import ReproError
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.refs import load_model, parse_ref


@dataclass(frozen=True)
class AuditResult:
    """Per sampled row: the largest absolute difference over all reductions."""

    model_key: str
    rows: tuple[int, ...]
    max_abs_diff: tuple[float, ...]
    tolerance: float
    notes: dict[int, str] = field(default_factory=dict)  # row -> why it could not be compared

    @property
    def passed(self) -> bool:
        """Every sampled image matches within the tolerance."""
        return all(d <= self.tolerance for d in self.max_abs_diff)


def _scheme(spec):
    base = re.sub(r"-c\d+$", "", spec.scheme_id)  # for_crop_size() appends -c<size>
    scheme = get_scheme(base).for_crop_size(spec.crop_size)
    if (scheme.id, scheme.version) != (spec.scheme_id, spec.scheme_version):
        raise ReproError(f"store {spec.model_key} used crop scheme {spec.scheme_id} v"
                         f"{spec.scheme_version}; this version of the harness has {scheme.id} v"
                         f"{scheme.version}: it cannot audit that store")
    return scheme


def audit(store: ModelStore, images: Path, sample: int, seed: int = 0,
          model_ref: str | None = None, tolerance: float = 1e-5, progress: bool = True) -> AuditResult:
    """Recompute ``sample`` random images of ``store`` and compare them with what it holds.

    A sampled image missing under ``images`` fails the audit with that reason; when none of the
    sample is there, ``images`` is not the store's image root and the audit is refused."""
    if sample < 1:
        raise ReproError(f"--sample {sample}: audit at least one image")
    if not Path(images).is_dir():
        raise ReproError(f"--images {images}: no such directory")
    spec = store.spec
    index = LabelIndex.from_csv(store.root / "index.csv")
    ref = parse_ref(model_ref or spec.model_ref, classes=spec.classes, width=spec.width,
                    input_size=spec.crop_size, seed=spec.seed)
    model = load_model(ref)
    if model.weights_sha256 != spec.weights_sha256:
        raise ReproError(f"model {ref.text} has weights sha256 {model.weights_sha256[:12]}, the store "
                         f"was computed with {spec.weights_sha256[:12]}: pass --model with the "
                         f"original weights")
    scheme = _scheme(spec)
    classifier = prepare_for_inference(Classifier(model.net, model.spec))
    rng = np.random.RandomState(seed)
    rows = tuple(int(r) for r in sorted(rng.choice(spec.n_images, size=min(sample, spec.n_images),
                                                    replace=False)))
    absent = [row for row in rows if not (images / index.filenames[row]).is_file()]
    if len(absent) == len(rows):
        raise ReproError(f"none of the {len(rows)} sampled images of {spec.model_key} is under {images} "
                         f"(first: {index.filenames[rows[0]]}): pass --images with the folder the store "
                         f"was evaluated on")
    diffs, notes = [], {}
    for row in tqdm(rows, desc=f"audit {spec.model_key}", unit="img", disable=not progress):
        chunk = row // spec.chunk_images
        stored = store.read_chunk(chunk)
        position = row - chunk * spec.chunk_images
        if row in absent:
            diffs.append(np.inf)
            notes[row] = f"{index.filenames[row]} is not under {images}"
            continue
        try:
            crops = extract_crops(decode_image(images / index.filenames[row]), scheme)
        except ReproError as exc:
            # A recorded miss must still fail; an image that fails now but was scored is a mismatch.
            diffs.append(0.0 if not stored["valid"][position] else np.inf)
            if stored["valid"][position]:
                notes[row] = f"scored in the store, unreadable now: {exc}"
            continue
        if not stored["valid"][position]:
            diffs.append(np.inf)  # recorded as a miss, but it decodes now
            notes[row] = f"{index.filenames[row]} is recorded as missed but reads now"
            continue
        batch = np.zeros((spec.batch_images,) + crops.shape, dtype=np.uint8)
        slot = position % spec.batch_images  # the image's place in its original batch
        batch[slot] = crops
        probs = classifier(mx.nd.array(batch.reshape((-1,) + batch.shape[2:]), dtype="uint8"))
        probs = probs.asnumpy().reshape(spec.batch_images, scheme.n_crops, -1)[slot:slot + 1]
        diffs.append(max(float(np.abs(r.apply(probs)[0] - stored[r.name][position]).max())
                         for r in reductions_for(scheme)))
    return AuditResult(spec.model_key, rows, tuple(diffs), tolerance, notes)


def audit_models(store_root: str | Path, images: Path, sample: int, seed: int = 0,
                 keys: list[str] | None = None, model_ref: str | None = None,
                 tolerance: float = 1e-5, progress: bool = True) -> list[AuditResult]:
    """:func:`audit` of every model ``keys`` (default: all) of the store under ``store_root``."""
    keys = keys or list_models(store_root)
    if not keys:
        raise ReproError(f"{store_root} holds no model results (no <model>/store.json): pass the "
                         f"--store directory of a `repro evaluate` run")
    return [audit(ModelStore.open(store_root, key), Path(images), sample, seed, model_ref, tolerance,
                  progress) for key in keys]
