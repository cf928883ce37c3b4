"""Member sets and combination rules: combine stored per-model predictions, never re-running a network.

Rules: ``mean`` — probabilities averaged over crops, then over models (the paper's, Section 7);
``max-mean`` — max over crops, mean over models (the alternative the paper's authors found worse).
Members must be stores of the same dataset index, classes and crop geometry; a mismatch is an error,
never a silent misalignment.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.reductions import reduction_name
from repro.engine.store import ModelStore, list_models
from repro.errors import ReproError

COMBINE_RULES = ("mean", "max-mean")


@dataclass(frozen=True)
class Members:
    """The stores of an ensemble, checked compatible, and the dataset index they share."""

    stores: tuple[ModelStore, ...]
    index: LabelIndex

    @property
    def keys(self) -> list[str]:
        """Model keys of the members, in order."""
        return [s.spec.model_key for s in self.stores]


def open_members(store_root: str | Path, keys: list[str] | None = None) -> Members:
    """Open ``keys`` (default: every model in the store) and check they can be combined."""
    store_root = Path(store_root)
    keys = keys or list_models(store_root)
    if not keys:
        raise ReproError(f"store {store_root} holds no model results; run `repro evaluate` first")
    stores = tuple(ModelStore.open(store_root, key) for key in keys)
    first = stores[0].spec
    for store in stores[1:]:
        spec = store.spec
        for attr in ("index_sha256", "classes", "scheme_id", "scheme_version", "crop_size"):
            if getattr(spec, attr) != getattr(first, attr):
                raise ReproError(f"ensemble members disagree on {attr}: {first.model_key} has "
                                 f"{getattr(first, attr)!r}, {spec.model_key} has "
                                 f"{getattr(spec, attr)!r}; only stores of the same dataset and "
                                 f"crop scheme can be combined")
    index = LabelIndex.from_csv(store_root / "index.csv")
    if index.hash != first.index_sha256:
        raise ReproError(f"{store_root / 'index.csv'} does not match the stores' dataset index "
                         f"(sha256 {index.hash[:12]} vs {first.index_sha256[:12]})")
    return Members(stores, index)


def member_reduction(store: ModelStore, crops: int, combine: str) -> str:
    """The reduction of one member used for ``crops`` crops under ``combine``."""
    name = reduction_name(crops, combine)
    if crops == 1 and name not in store.spec.reductions:
        name = reduction_name(1, "mean")  # max and mean over a single crop coincide
    if name not in store.spec.reductions:
        counts = sorted({int(r.split("-")[1]) for r in store.spec.reductions})
        raise ReproError(f"store {store.spec.model_key} ({store.spec.scheme_id}) has no "
                         f"{crops}-crop {combine} result; available crop counts: {counts}")
    return name


def combine(members: Members, crops: int, rule: str = "mean",
            count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble probabilities ``(N, classes)`` of the first ``count`` members and the validity mask.

    An image is valid only when every member evaluated it.
    """
    if rule not in COMBINE_RULES:
        raise ReproError(f"unknown combine rule {rule!r}; use one of {', '.join(COMBINE_RULES)}")
    stores = members.stores[:count] if count else members.stores
    total, valid = None, None
    for store in stores:
        probs, ok = store.load(member_reduction(store, crops, rule))
        total = probs.astype(np.float64) if total is None else total + probs
        valid = ok if valid is None else valid & ok
    return (total / len(stores)).astype(np.float32), valid
