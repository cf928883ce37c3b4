"""Numbers derived from a member set without running a network: error rows, crop-count and
ensemble-size curves.

A row is the ensemble of the first ``models`` members at ``crops`` crops under a combination rule:
its top-5 and top-1 error with exact 95% intervals, and McNemar's paired test against a base row on
the same images. Which rows a table has is the caller's (the paper's Table 3 is data of the
protocol layer).

Every number comes from :meth:`Members.prefix_scores`, so a table, its curves and its ablation read each
(member, reduction) once, however many rows use it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from repro.engine.members import Members
from repro.metrics.classification import error_rate, mcnemar


def correct(members: Members, models: int, crops: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Per image: (top-1 correct, top-5 correct) of the first ``models`` members; unevaluated = wrong."""
    scores = members.scores(models, crops, rule)
    return scores.correct(1), scores.correct(5)


def error_row(members: Members, models: int, crops: int, rule: str,
              base_top5: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """One row (errors, intervals, counts, p against ``base_top5``) and its per-image top-5 correctness."""
    scores = members.scores(models, crops, rule)
    valid = scores.valid
    top5, top1 = scores.correct(5), scores.correct(1)
    e5, e1 = error_rate(top5), error_rate(top1)
    (l5, h5), (l1, h1) = e5.interval(), e1.interval()
    test = mcnemar(base_top5, top5) if base_top5 is not None else {"p_value": float("nan")}
    row = {"models": models, "crops": crops, "cost": models * crops, "top5_err": e5.rate,
           "top5_ci_low": l5, "top5_ci_high": h5, "top1_err": e1.rate, "top1_ci_low": l1,
           "top1_ci_high": h1, "n_images": int(valid.size), "n_evaluated": int(valid.sum()),
           "p_vs_base": test["p_value"]}
    return row, top5


def stored_crop_counts(members: Members, rule: str) -> list[int]:
    """Crop counts every member's store keeps for ``rule`` (1 always: max and mean of one crop agree)."""
    op = "mean-" if rule == "mean" else "max-"
    counts = None
    for store in members.stores:
        mine = {int(r.split("-")[1]) for r in store.spec.reductions if r.startswith(op)} | {1}
        counts = mine if counts is None else counts & mine
    return sorted(counts)


def crop_curve(members: Members, rule: str = "mean") -> pd.DataFrame:
    """Top-5/top-1 error of the first member and of the ensemble against the number of crops."""
    rows = []
    for models in sorted({1, len(members.stores)}):
        for crops in stored_crop_counts(members, rule):
            top1, top5 = correct(members, models, crops, rule)
            rows.append({"models": models, "crops": crops, "top5_err": error_rate(top5).rate,
                         "top1_err": error_rate(top1).rate})
    return pd.DataFrame(rows)


def ensemble_size_curve(members: Members, crops: int, rule: str = "mean") -> pd.DataFrame:
    """Top-5/top-1 error against the number of members 1..K (members in store order)."""
    rows = []
    for models, scores in members.prefix_scores(crops, rule, range(1, len(members.stores) + 1)).items():
        top1, top5 = scores.correct(1), scores.correct(5)
        rows.append({"models": models, "crops": crops, "top5_err": error_rate(top5).rate,
                     "top1_err": error_rate(top1).rate})
    return pd.DataFrame(rows)
