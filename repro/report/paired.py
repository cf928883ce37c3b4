"""Paired comparison of two runs' Table 3 rows on the same images, recomputed from their stores.

A row's per-image correctness is rebuilt from the stored probabilities (no network is run) with the
row's members, crop count and combination rule; it must give the CSV's error rate, or the table and
the stores are from different runs and no test is made. Two runs are paired only when their stores
share the dataset index (same images, same labels, same order). A run's member set is opened once
and keeps its scores, so every row reads each (member, reduction) once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from repro.engine.members import Members, open_members
from repro.errors import ReproError
from repro.metrics.classification import error_rate, mcnemar
from repro.report.context import Classification


@dataclass(frozen=True)
class RowCorrectness:
    """Per-image top-5 and top-1 correctness of one Table 3 row, and the images' index hash."""

    top5: np.ndarray
    top1: np.ndarray
    index_sha256: str


@functools.lru_cache(maxsize=4)
def _member_set(root: Path, keys: tuple[str, ...], contents: tuple[str, ...]) -> Members:
    """A run's member set, opened once (``contents``: the stores' content hashes, so a store
    written anew is opened anew)."""
    return open_members(root, list(keys))


def row_correctness(facts: Classification, row: pd.Series) -> RowCorrectness | str:
    """Correctness of ``row`` from its stores, or the reason it cannot be had."""
    if facts.members is None:
        return "stores not under the results directory"
    try:
        members = _member_set(facts.members[0].root, tuple(m.key for m in facts.members),
                              tuple(m.manifest.get("content_sha256", "") for m in facts.members))
        scores = members.scores(int(row["models"]), int(row["crops"]), facts.rule)
    except ReproError as exc:  # shown in the report in place of the test
        return f"stores unreadable ({exc})"
    top5, top1 = scores.correct(5), scores.correct(1)
    for name, correct in (("top5_err", top5), ("top1_err", top1)):
        if not np.isclose(error_rate(correct).rate, float(row[name]), rtol=0, atol=1e-12):
            return f"its stores give another {name} than its table: they are from different runs"
    return RowCorrectness(top5, top1, members.index.hash)


def paired_p(a: RowCorrectness | str, b: RowCorrectness | str, metric: str) -> str:
    """Exact McNemar p-value of ``metric`` ("top5"/"top1") as text, or why there is none."""
    for side in (a, b):
        if isinstance(side, str):
            return f"no test: {side}"
    if a.index_sha256 != b.index_sha256:
        return "no test: different images"
    return f"{mcnemar(getattr(a, metric), getattr(b, metric))['p_value']:.3g}"
