"""How per-crop probabilities reduce to what the store keeps: every crop count from one pass.

One pass of a scheme keeps, per image and model, the mean over each of the scheme's declared
``subsets`` (the crop counts its tables report), over each prefix of its scales (the crop-count
curve) and over all its crops, and the max over each multi-crop subset and over all crops (for the
max-over-crops ablation). Names are ``<op>-<crop count>``: for the paper's crops-144 they are
mean-1, mean-10, max-10, mean-36, mean-72, mean-108, mean-144, max-144.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repro.engine.crops import CropScheme
from repro.errors import ReproError


@dataclass(frozen=True)
class Reduction:
    """Mean or max of the probabilities of some crops (indices in the scheme's canonical order)."""

    name: str
    op: str  # "mean" or "max"
    indices: tuple[int, ...]

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """(images, crops, classes) -> (images, classes), float32."""
        picked = probs[:, list(self.indices)]
        out = picked.mean(axis=1) if self.op == "mean" else picked.max(axis=1)
        return out.astype(np.float32, copy=False)


def reductions_for(scheme: CropScheme) -> tuple[Reduction, ...]:
    """Every reduction a store of ``scheme`` keeps, unique by name, in a fixed order."""
    found: dict[str, Reduction] = {}

    def add(op: str, indices) -> None:
        indices = tuple(int(i) for i in indices)
        found.setdefault(f"{op}-{len(indices)}", Reduction(f"{op}-{len(indices)}", op, indices))

    for small in scheme.subsets:
        indices = scheme.subset_indices(small)
        add("mean", indices)
        if len(indices) > 1:
            add("max", indices)
    for prefix in scheme.scale_prefix_indices():
        add("mean", prefix)
    add("mean", range(scheme.n_crops))
    if scheme.n_crops > 1:
        add("max", range(scheme.n_crops))
    return tuple(found.values())


def reduction_name(crops: int, combine: str = "mean") -> str:
    """The stored reduction for ``crops`` crops combined with ``combine`` ('mean' or 'max-mean')."""
    if combine not in ("mean", "max-mean"):
        raise ReproError(f"unknown combine rule {combine!r}: use mean or max-mean")
    return f"{'mean' if combine == 'mean' else 'max'}-{crops}"
