"""Plots for results/: each written as PNG and SVG with the CSV of its data beside it."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from repro import results_schema  # noqa: E402
from repro.atomic import write_bytes, write_text  # noqa: E402

# Deterministic SVG output: fixed element ids and no creation date in the metadata.
plt.rcParams["svg.hashsalt"] = "repro"


def save_figure(fig, data: pd.DataFrame, stem: str | Path,
                artefact: results_schema.Artefact | str | None = None) -> list[Path]:
    """Write ``stem``.png, .svg and .csv (the data behind the figure); returns the paths.

    A figure of results/ names its ``artefact``: its CSV is then checked against the schema.
    """
    import io

    stem = Path(stem)
    if artefact is not None:  # before anything is written
        results_schema.check(artefact, data, f"writing {stem.with_suffix('.csv')}")
    paths = []
    for fmt in ("png", "svg"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=110, bbox_inches="tight",
                    metadata={"Date": None} if fmt == "svg" else {"Software": None})
        paths.append(write_bytes(stem.with_suffix(f".{fmt}"), buffer.getvalue()))
    csv = stem.with_suffix(".csv")
    paths.append(results_schema.write_frame_at(artefact, data, csv) if artefact is not None
                 else write_text(csv, data.to_csv(index=False)))
    plt.close(fig)
    return paths


def error_vs_cost(ours: pd.DataFrame, paper_rows: pd.DataFrame, stem: str | Path,
                  label: str, artefact: str | None = None) -> list[Path]:
    """Top-5 error against cost (models x crops, log scale): the paper's Table 3 points and ours."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for frame, name, marker in ((paper_rows, "paper (ILSVRC 2012 val, 7 models)", "o"),
                                (ours, label, "s")):
        for models, group in frame.groupby("models"):
            group = group.sort_values("cost")
            ax.plot(group["cost"], 100 * group["top5_err"], marker=marker, linestyle="-",
                    label=f"{name}: {models} model(s)")
            for row in group.itertuples():
                ax.annotate(f"{row.crops}c", (row.cost, 100 * row.top5_err), fontsize=7,
                            textcoords="offset points", xytext=(4, 3))
    ax.set_xscale("log")
    ax.set_xlabel("cost = models x crops (log scale)")
    ax.set_ylabel("top-5 error (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Top-5 error vs cost (Table 3)")
    data = pd.concat([paper_rows.assign(source="paper"), ours.assign(source=label)],
                     ignore_index=True)[["source", "models", "crops", "cost", "top5_err"]]
    return save_figure(fig, data, stem, artefact)


def curve(frame: pd.DataFrame, x: str, stem: str | Path, title: str, xlabel: str,
          group: str = "models", artefact: str | None = None) -> list[Path]:
    """Top-5 and top-1 error against ``x``, one line per value of ``group``."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for key, part in frame.groupby(group):
        part = part.sort_values(x)
        ax.plot(part[x], 100 * part["top5_err"], marker="o", label=f"top-5, {group}={key}")
        ax.plot(part[x], 100 * part["top1_err"], marker="s", linestyle="--",
                label=f"top-1, {group}={key}")
    ax.set_xticks(sorted(frame[x].unique()))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("error (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title)
    return save_figure(fig, frame, stem, artefact)
