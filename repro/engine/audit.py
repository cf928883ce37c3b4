"""Audit a store by re-evaluating a random sample of its images from scratch (MLPerf's TEST01 idea).

Everything is rebuilt from what the store's spec records: the model from its reference (it must have
the recorded weights hash), the crop scheme and version, the resize interpolation, the decoding
options and the execution backend with its precision (an int8 backend re-calibrated on images that
must give the recorded calibration hash). Each sampled image is decoded, cropped and run again in
its original slot of a batch of the store's shape, and every stored reduction is compared with the
recomputation.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import mxnet as mx
import numpy as np

from repro.data.decode import decode_image
from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.crops import extract_crops, get_scheme
from repro.engine.identity import backend_identity
from repro.engine.reductions import reductions_for
from repro.engine.store import ModelStore, StoreSpec, list_models
from repro.errors import ReproError
from repro.models.backends import build_predictor, resolve_backend
from repro.models.refs import load_model, parse_ref
from repro.progress import progress_bar


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


def _scheme(spec: StoreSpec):
    base = re.sub(r"-c\d+$", "", spec.scheme_id)  # for_crop_size() appends -c<size>
    scheme = get_scheme(base).for_crop_size(spec.crop_size)
    if (scheme.id, scheme.version) != (spec.scheme_id, spec.scheme_version):
        raise ReproError(f"store {spec.model_key} used crop scheme {spec.scheme_id} v"
                         f"{spec.scheme_version}; this version of the harness has {scheme.id} v"
                         f"{scheme.version}: it cannot audit that store")
    return scheme


def store_backend(store: ModelStore, backend: str | None = None) -> str:
    """The ``--backend`` text that recomputes ``store``: ``backend`` if given, else one the store's
    runs used, else its canonical backend; it must have the store's backend identity."""
    spec = store.spec
    candidates = [backend] if backend else []
    if not candidates and store.manifest_path().exists():
        candidates = json.loads(store.manifest_path().read_text()).get("backend_given", [])
    candidates = candidates + [spec.backend] if not backend else candidates
    for text in candidates:
        try:
            identity, _ = backend_identity(text, spec.crop_size)
        except ReproError:
            if backend:
                raise
            continue  # e.g. a calibration directory of another machine
        if identity == spec.backend:
            return text
        if backend:
            raise ReproError(f"backend {backend!r} is {identity}, the store was computed with "
                             f"{spec.backend}: pass the store's backend")
    raise ReproError(f"store {store.dir} was computed with backend {spec.backend}, which cannot be "
                     f"rebuilt from what it recorded ({', '.join(candidates)}): pass the backend "
                     f"with its options (e.g. the calibration directory on this machine)")


def audit(store: ModelStore, images: Path, sample: int, seed: int = 0,
          model_ref: str | None = None, tolerance: float = 1e-5, progress: bool = True,
          backend: str | None = None) -> AuditResult:
    """Recompute ``sample`` random images of ``store`` and compare them with what it holds, with the
    store's crop scheme, interpolation, decoding and backend (``backend`` overrides the recorded text).

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
    batch_shape = (spec.batch_images * scheme.n_crops, scheme.crop_size, scheme.crop_size, 3)
    given = resolve_backend(backend, model, (mx.cpu(),)) if backend else None  # auto: as evaluate resolves it
    predict = build_predictor(model, store_backend(store, given), (mx.cpu(),), batch_shape)
    rng = np.random.RandomState(seed)
    rows = tuple(int(r) for r in sorted(rng.choice(spec.n_images, size=min(sample, spec.n_images),
                                                    replace=False)))
    absent = [row for row in rows if not (images / index.filenames[row]).is_file()]
    if len(absent) == len(rows):
        raise ReproError(f"none of the {len(rows)} sampled images of {spec.model_key} is under {images} "
                         f"(first: {index.filenames[rows[0]]}): pass --images with the folder the store "
                         f"was evaluated on")
    diffs, notes = [], {}
    for row in progress_bar(progress, iterable=rows, desc=f"audit {spec.model_key}", unit="img"):
        chunk = row // spec.chunk_images
        stored = store.read_chunk(chunk)
        position = row - chunk * spec.chunk_images
        if row in absent:
            diffs.append(np.inf)
            notes[row] = f"{index.filenames[row]} is not under {images}"
            continue
        try:
            pixels = decode_image(images / index.filenames[row], exif_orientation=spec.exif_orientation)
            crops = extract_crops(pixels, scheme, spec.interpolation)
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
        probs = predict(batch.reshape((-1,) + batch.shape[2:]))
        probs = probs.reshape(spec.batch_images, scheme.n_crops, -1)[slot:slot + 1]
        diffs.append(max(float(np.abs(r.apply(probs)[0] - stored[r.name][position]).max())
                         for r in reductions_for(scheme)))
    return AuditResult(spec.model_key, rows, tuple(diffs), tolerance, notes)


def audit_models(store_root: str | Path, images: Path, sample: int, seed: int = 0,
                 keys: list[str] | None = None, model_ref: str | None = None,
                 tolerance: float = 1e-5, progress: bool = True,
                 backend: str | None = None) -> list[AuditResult]:
    """:func:`audit` of every model ``keys`` (default: all) of the store under ``store_root``."""
    keys = keys or list_models(store_root)
    if not keys:
        raise ReproError(f"{store_root} holds no model results (no <model>/store.json): pass the "
                         f"--store directory of a `repro evaluate` run")
    return [audit(ModelStore.open(store_root, key), Path(images), sample, seed, model_ref, tolerance,
                  progress, backend) for key in keys]
