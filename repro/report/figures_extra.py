"""The report's own plots (the table commands draw the others): each PNG + SVG + the CSV behind it.

Mean vs max over crops, per-class detection AP, training curves, and top-5 error vs
cost for several runs beside the paper's Table 3 points. All go through
:func:`repro.report.plots.save_figure`, so they are deterministic and carry their data.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from repro.report.plots import save_figure

#: Above this many classes the per-class AP plot drops its tick labels (200 DET classes).
MAX_LABELLED_CLASSES = 40


def mean_vs_max(ablation: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Top-5 error of the paper's mean rule beside max over crops, per (models, crops) row."""
    rows = ablation.drop_duplicates(["models", "crops"])[["models", "crops"]].sort_values(
        ["models", "crops"]).reset_index(drop=True)
    rules = list(dict.fromkeys(ablation["rule"]))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    width = 0.8 / len(rules)
    for i, rule in enumerate(rules):
        part = rows.merge(ablation[ablation["rule"] == rule], on=["models", "crops"], how="left")
        ax.bar(np.arange(len(rows)) + i * width, 100 * part["top5_err"], width, label=rule)
    ax.set_xticks(np.arange(len(rows)) + width * (len(rules) - 1) / 2)
    ax.set_xticklabels([f"{r.models} model(s)\n{r.crops} crops" for r in rows.itertuples()],
                       fontsize=7)
    ax.set_ylabel("top-5 error (%)")
    ax.set_title("Mean vs max over crops (Section 7)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, ablation, stem)


def per_class_ap(frame: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """AP per detection class, sorted, with the mean (classes without positives left out)."""
    data = frame.dropna(subset=["ap"]).sort_values(["ap", "class_id"], ascending=[False, True])
    fig, ax = plt.subplots(figsize=(7.2 if len(data) <= MAX_LABELLED_CLASSES else 9.6, 3.8))
    ax.bar(np.arange(len(data)), 100 * data["ap"], color="tab:blue")
    mean = 100 * data["ap"].mean() if len(data) else float("nan")
    ax.axhline(mean, color="tab:red", linestyle="--", label=f"mAP {mean:.2f}%")
    if len(data) <= MAX_LABELLED_CLASSES:
        ax.set_xticks(np.arange(len(data)))
        ax.set_xticklabels(data["name"], rotation=60, ha="right", fontsize=7)
    else:
        ax.set_xlabel("classes, by AP")
    ax.set_ylabel("AP (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return save_figure(fig, data, stem)


def training_curves(logs: dict[str, pd.DataFrame], stem: str | Path) -> list[Path]:
    """Loss (left) and every validation column (right) against epoch, one line per member."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.8))
    for member, log in logs.items():
        left.plot(log["epoch"], log["loss"], marker=".", label=member)
        for column in [c for c in log.columns if c.startswith("val")]:
            right.plot(log["epoch"], log[column], marker=".", label=f"{member}: {column}")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss")
    right.set_xlabel("epoch")
    right.set_ylabel("validation metric")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle("Training curves")
    data = pd.concat([log.assign(member=member) for member, log in logs.items()], ignore_index=True)
    return save_figure(fig, data, stem)


def runs_vs_cost(runs: dict[str, pd.DataFrame], paper_rows: pd.DataFrame,
                 stem: str | Path) -> list[Path]:
    """Top-5 error against cost (log scale) for each run's Table 3 and the paper's."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    frames = {"paper": paper_rows, **runs}
    for (name, frame), marker in zip(frames.items(), "osD^v<>p*h"):
        for models, group in frame.groupby("models"):
            group = group.sort_values("cost")
            ax.plot(group["cost"], 100 * group["top5_err"], marker=marker,
                    label=f"{name}: {models} model(s)")
    ax.set(xscale="log", xlabel="cost = models x crops (log scale)", ylabel="top-5 error (%)",
           title="Top-5 error vs cost, runs compared")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    data = pd.concat([f.assign(source=n)[["source", "models", "crops", "cost", "top5_err"]]
                      for n, f in frames.items()], ignore_index=True)
    return save_figure(fig, data, stem)
