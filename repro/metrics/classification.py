"""Top-k error with exact confidence intervals, and McNemar's paired test, from probability arrays.

Rows whose ``valid`` flag is False (images recorded as misses) count as wrong at every k. Ties in
probability are broken by the lower class index (stable sort), so results are deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest


def topk_classes(probs: np.ndarray, k: int) -> np.ndarray:
    """(N, k) class indices of the k highest probabilities, best first, ties to the lower index."""
    order = np.argsort(-probs, axis=1, kind="stable")
    return order[:, :k]


ROW_BLOCK = 2048  # rows compared at once by label_rank: (block, classes) temporaries stay small
NO_RANK = np.iinfo(np.int64).max  # the rank of a label outside the class range


def label_rank(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """int64 (N,): how many classes rank above each row's label, NaN counted as -1 and ties going
    to the lower class index; the label is among the k best classes iff its rank is < k.

    This is the label's position in :func:`topk_classes`' stable order, counted in one pass over
    the row (O(classes)) instead of sorted (O(classes log classes)): a class ranks above the label
    when its probability is higher, or equal with a lower index. A label outside ``[0, classes)``
    (an unlabelled row) has rank :data:`NO_RANK`: never among the k best, whatever k.
    """
    labels = np.asarray(labels)
    if probs.shape[0] != labels.shape[0]:
        raise ValueError(f"{probs.shape[0]} score rows for {labels.shape[0]} labels")
    classes = probs.shape[1]
    ranks = np.full(len(labels), NO_RANK, dtype=np.int64)
    columns = np.arange(classes)
    for start in range(0, len(labels), ROW_BLOCK):
        block = probs[start:start + ROW_BLOCK]
        if not np.isfinite(block).all():  # nan_to_num copies and scans for inf twice: only when needed
            block = np.nan_to_num(block, nan=-1.0)
        label = labels[start:start + ROW_BLOCK]
        known = (label >= 0) & (label < classes)
        own = block[np.arange(len(block)), np.where(known, label, 0)][:, None]
        above = np.count_nonzero(block > own, axis=1)
        tied = np.flatnonzero(np.count_nonzero(block == own, axis=1) > 1)  # besides the label
        if tied.size:
            equal = (block[tied] == own[tied]) & (columns < label[tied, None])
            above[tied] += np.count_nonzero(equal, axis=1)
        ranks[start:start + ROW_BLOCK] = np.where(known, above, NO_RANK)
    return ranks


def topk_correct(probs: np.ndarray, labels: np.ndarray, k: int,
                 valid: np.ndarray | None = None) -> np.ndarray:
    """Boolean (N,): the label is among the k best classes (False for invalid rows)."""
    hit = label_rank(probs, labels) < k
    return hit & (np.ones_like(hit) if valid is None else np.asarray(valid, dtype=bool))


@dataclass(frozen=True)
class ErrorRate:
    """An error rate with its exact (Clopper-Pearson) 95% interval."""

    errors: int
    n: int

    @property
    def rate(self) -> float:
        """Fraction wrong."""
        return self.errors / self.n

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Exact binomial confidence interval of the error rate."""
        ci = binomtest(self.errors, self.n).proportion_ci(confidence, method="exact")
        return float(ci.low), float(ci.high)


def error_rate(correct: np.ndarray) -> ErrorRate:
    """Error rate of a boolean correctness vector."""
    correct = np.asarray(correct, dtype=bool)
    if correct.size == 0:
        raise ValueError("no images: an error rate needs at least one")
    return ErrorRate(int((~correct).sum()), int(correct.size))


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
    """Exact McNemar test of two classifiers on the same images (two-sided p-value).

    ``b_only``: images only B gets right; ``a_only``: only A. Under the null both are equally likely.
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("McNemar's test needs the same images for both classifiers")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else float(binomtest(b_only, discordant, 0.5).pvalue)
    return {"a_only": a_only, "b_only": b_only, "p_value": p}
