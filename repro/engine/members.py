"""Member sets and combination rules: combine stored per-model predictions, never re-running a network.

Rules: ``mean`` — probabilities averaged over crops, then over models (the paper's, Section 7);
``max-mean`` — max over crops, mean over models (the alternative the paper's authors found worse).
Members must be stores of the same dataset index, classes and crop geometry; a mismatch is an error,
never a silent misalignment.

Reading costs what it must: a member set reads each (member, reduction) once per command. For the
numbers derived from it (:meth:`Members.prefix_scores`), one pass over the members' stored arrays
of a reduction accumulates their sum (float64, one member's array read at a time: peak memory is
the sum and one member, not every member) and keeps, for every count of members, only each image's
label rank and validity; every row, curve point and ablation at that
reduction is then answered from those, without reading again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from repro.data.ilsvrc.labels import LabelIndex
from repro.engine.reductions import reduction_name
from repro.engine.store import ModelStore, list_models
from repro.errors import ReproError
from repro.metrics.classification import label_rank

COMBINE_RULES = ("mean", "max-mean")
ROW_BLOCK = 4096  # rows of the float64 sum turned into float32 means at once


@dataclass(frozen=True)
class Scores:
    """Per image, for the ensemble of some members: the label's rank in the combined probabilities
    (classes ranked above it, ties to the lower index) and whether every member evaluated it."""

    rank: np.ndarray
    valid: np.ndarray

    def correct(self, k: int) -> np.ndarray:
        """Boolean (N,): the label is among the k best classes and the image was evaluated."""
        return (self.rank < k) & self.valid


@dataclass(frozen=True)
class Members:
    """The stores of an ensemble, checked compatible, and the dataset index they share."""

    stores: tuple[ModelStore, ...]
    index: LabelIndex
    _scores: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def keys(self) -> list[str]:
        """Model keys of the members, in order."""
        return [s.spec.model_key for s in self.stores]

    def scores(self, models: int, crops: int, rule: str = "mean") -> Scores:
        """:class:`Scores` of the first ``models`` members at ``crops`` crops under ``rule``."""
        return self.prefix_scores(crops, rule, (models,))[models]

    def prefix_scores(self, crops: int, rule: str, counts) -> dict[int, Scores]:
        """:class:`Scores` of the first k members for every k of ``counts``, at ``crops`` crops
        under ``rule``.

        A reduction not asked for yet is read from the members once and the scores of every member
        count 1..K are kept (tables, crop-count and ensemble-size curves ask for different counts
        of one reduction, in any order); later requests of it (other rows, the other rule where it
        names the same arrays) read nothing.
        """
        if not self.index.labelled:
            raise ReproError(f"{self.stores[0].root / 'index.csv'} has no labels (a test split): "
                             f"there is no error to compute; use `repro submit`")
        _check_rule(rule)
        counts = tuple(counts)
        if not all(1 <= k <= len(self.stores) for k in counts):
            raise ReproError(f"member counts {counts} asked for; the set has {len(self.stores)} members")
        names = tuple(member_reduction(store, crops, rule) for store in self.stores)
        if names not in self._scores:
            self._scores[names] = _prefix_scores(self.stores, names, np.asarray(self.index.class_indices))
        return {k: self._scores[names][k] for k in counts}


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


def _check_rule(rule: str) -> None:
    if rule not in COMBINE_RULES:
        raise ReproError(f"unknown combine rule {rule!r}; use one of {', '.join(COMBINE_RULES)}")


def _accumulate(stores, names):
    """Yield ``(k, float64 sum of the first k members' arrays, their common validity)`` for k = 1..K,
    reading one member's array at a time into one reused buffer."""
    total, valid, buffer = None, None, None
    for count, (store, name) in enumerate(zip(stores, names), start=1):
        probs, ok = store.load(name, out=buffer)
        if total is None:
            total, valid = probs.astype(np.float64), ok
            buffer = probs
        else:
            total += probs
            valid = valid & ok
        yield count, total, valid


def _prefix_scores(stores, names, labels: np.ndarray) -> dict[int, Scores]:
    """The :class:`Scores` of the first k of ``stores`` combined by mean over their ``names``, for
    every k."""
    found = {}
    for count, total, valid in _accumulate(stores, names):
        rank = np.empty(len(labels), dtype=np.int64)
        for start in range(0, len(labels), ROW_BLOCK):  # the mean as combine() computes it, by block
            block = (total[start:start + ROW_BLOCK] / count).astype(np.float32)
            rank[start:start + ROW_BLOCK] = label_rank(block, labels[start:start + ROW_BLOCK])
        found[count] = Scores(rank, valid.copy())
    return found


def combine(members: Members, crops: int, rule: str = "mean",
            count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble probabilities ``(N, classes)`` of the first ``count`` members and the validity mask.

    An image is valid only when every member evaluated it. Each member's array is read once, one
    member at a time.
    """
    _check_rule(rule)
    stores = members.stores[:count] if count else members.stores
    names = [member_reduction(store, crops, rule) for store in stores]
    for models, total, valid in _accumulate(stores, names):
        if models == len(stores):
            total /= models
            return total.astype(np.float32), valid
    raise ReproError("no member to combine")
