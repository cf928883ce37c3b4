"""The benchmark's plot and its Markdown summary (the README's performance section); tables printed
by the project's one renderer, with the formats of their columns' units in the results schema."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import NullFormatter

from repro import results_schema as schema
from repro.bench.machine import Machine
from repro.report.markdown import grid
from repro.report.plots import save_figure
from repro.report.tables import artefact_markdown, frame_table, value


def write_plot(tables: dict[str, pd.DataFrame], machine: Machine, stem: Path) -> list[Path]:
    """``stem``.png/.svg/.csv, three panels: bare crops/s by batch size, end to end as a fraction of
    the bare bound, and single-crop images/s of ours and the peers."""
    bare, e2e, peers = tables["bare"], tables["end_to_end"], tables["peers"]
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(17, 5.2))
    styles = dict(zip(sorted(set(bare["model"])), ("-", "--", ":", "-.")))
    for (model, backend), group in bare.groupby(["model", "backend"]):
        left.errorbar(group["batch"], group["crops_per_s"],
                      yerr=[group["crops_per_s"] - group["crops_per_s_min"],
                            group["crops_per_s_max"] - group["crops_per_s"]],
                      linestyle=styles[model], marker="o", capsize=3, label=f"{backend} ({model})")
    if machine.peak_gflops:
        for model, group in bare.groupby("model"):
            limit = machine.peak_gflops * 1e9 / (2 * group["macs_per_crop"].iloc[0])
            left.axhline(limit, color="grey", linestyle=styles[model], linewidth=0.8)
            left.annotate(f"fp32 peak ({model})", (bare["batch"].min(), limit), fontsize=7,
                          va="bottom", color="grey")
    left.set_xscale("log", base=2)
    left.set(xlabel="batch size (crops)", ylabel="crops/s (median, min-max)", title="bare network",
             xticks=sorted(set(bare["batch"])))
    left.set_xticklabels(sorted(set(bare["batch"])))
    left.xaxis.set_minor_formatter(NullFormatter())
    left.legend(fontsize=6)

    labels = [f"{m}\n{b}" for m, b in e2e[["model", "backend"]].drop_duplicates().itertuples(index=False)]
    schemes = sorted(set(e2e["crops_per_image"]))
    width = 0.8 / len(schemes)
    for offset, crops in enumerate(schemes):
        part = e2e[e2e["crops_per_image"] == crops]
        positions = [labels.index(f"{m}\n{b}") + offset * width
                     for m, b in zip(part["model"], part["backend"])]
        middle.bar(positions, part["bound_fraction"], width, label=f"{crops} crop(s)")
    middle.axhline(0.9, color="black", linewidth=0.8, linestyle="--")
    middle.set_xticks([i + width * (len(schemes) - 1) / 2 for i in range(len(labels))])
    middle.set_xticklabels(labels, fontsize=6, rotation=60, ha="right")
    middle.set(ylabel="end-to-end images/s / bare-network bound", title="end to end (target 0.9 at 144)")
    middle.legend(fontsize=7)

    ordered = peers.sort_values(["model", "images_per_s"])
    right.barh([f"{p} ({m})" for p, m in zip(ordered["peer"], ordered["model"])], ordered["images_per_s"],
               xerr=[ordered["images_per_s"] - ordered["images_per_s_min"],
                     ordered["images_per_s_max"] - ordered["images_per_s"]],
               color=["tab:green" if p.startswith("ours") else "tab:grey" for p in ordered["peer"]])
    right.tick_params(axis="y", labelsize=7)
    right.set(xlabel="images/s, single crop", title="ours vs peers")
    figure.suptitle(machine.description(), fontsize=8)
    figure.tight_layout()
    plotted = pd.concat([bare.assign(panel="bare network"), e2e.assign(panel="end to end"),
                         peers.assign(panel="peers")], ignore_index=True)
    return save_figure(figure, plotted, stem, schema.BENCH_PLOT)


def _table(artefact: schema.Artefact, frame: pd.DataFrame, columns: dict[str, str]) -> str:
    """``frame`` (rows of ``artefact``'s table) as Markdown, column -> header."""
    if frame.empty:
        return "(not measured in this run)"
    return artefact_markdown(artefact, frame, [value(h, c) for c, h in columns.items()])


def _wide(e2e: pd.DataFrame) -> str:
    """End to end, one row per model and backend: images/s per crop count, the 144-crop bound."""
    wide = e2e.pivot_table(index=["model", "backend"], columns="crops_per_image", values="images_per_s")
    rates = [f"{c} crop(s) images/s" for c in wide.columns]
    wide.columns = rates
    at144 = e2e[e2e["crops_per_image"] == 144].set_index(["model", "backend"])
    wide = wide.join(at144[["bound_images_per_s", "bound_fraction"]].rename(
        columns={"bound_images_per_s": "144: bare bound images/s",
                 "bound_fraction": "144: fraction of bound"})).reset_index()
    units = {"model": "text", "backend": "text", **dict.fromkeys(rates, "per_s"),
             "144: bare bound images/s": "per_s", "144: fraction of bound": "share"}
    return grid(frame_table("end_to_end", "", wide, {c: (c, schema.UNITS[u].fmt) for c, u in units.items()}))


def summary_markdown(tables: dict[str, pd.DataFrame], machine: Machine, record: dict) -> str:
    """The README section: machine, threads, load, and every table of the run."""
    bare, e2e = tables["bare"], tables["end_to_end"]
    best = bare.loc[bare.groupby(["model", "backend"])["crops_per_s"].idxmax()]
    loads = pd.concat([t["load"] for t in (bare, e2e, tables["peers"]) if "load" in t])
    agreement = tables["agreement"]
    if not agreement.empty:
        agreement = agreement[agreement["member"] == "ensemble"]
    return "\n\n".join([
        "## Performance (`nox -s bench`)",
        f"Machine: {machine.description()}. Peak: {machine.method}.",
        f"Threads: {record['threads']}. Images: {record['images']}. Load average (1 min) at the start of "
        f"the measurements: {loads.min():g}-{loads.max():g}; it counts the benchmark's own threads (about "
        f"{machine.logical_cpus} when nothing else runs), and other work on the machine lowers the numbers. "
        f"Medians of repeated timed runs after warm-up; min/max in `results/bench/*.csv`. "
        f"Run {record['created_utc']}, commit {record['git_commit']}, MXNet {record['libraries']['mxnet']}.",
        "### Bare network (synthetic crops, best batch size)",
        _table(schema.BENCH_BARE, best, {"model": "model", "backend": "backend", "precision": "precision",
                                         "batch": "batch", "crops_per_s": "crops/s", "gflops": "GFLOP/s",
                                         "peak_fraction": "of peak"}),
        "### End to end (decode, crop, forward, softmax, store)",
        _wide(e2e),
        "### Peak RSS of a 144-crop `repro evaluate` (its own process)",
        _table(schema.BENCH_MEMORY, tables["memory"], {"model": "model", "backend": "backend",
                                                       "images": "images", "peak_rss_mb": "peak RSS MB",
                                                       "process_seconds": "process s"}),
        "### Single crop: ours and the peers (same images, same run)",
        _table(schema.BENCH_PEERS, tables["peers"], {"peer": "peer", "model": "model",
                                                     "images_per_s": "images/s",
                                                     "ours_over_peer": "ours / peer", "note": "how"}),
        "### Precision modes vs fp32 (trained members' ensemble)",
        _table(schema.BENCH_AGREEMENT, agreement, {
            "backend": "backend", "crops": "crops", "images": "images", "top1_agreement": "top-1 agreement",
            "top5_agreement": "top-5 agreement", "top1_err_diff": "top-1 err diff",
            "top5_err_diff": "top-5 err diff"}),
        "### Targets",
        _table(schema.BENCH_TARGETS, tables["targets"], {"target": "target", "model": "model",
                                                         "measured": "measured", "required": "required",
                                                         "met": "met", "detail": "detail"}),
        f"Rerun: `nox -s bench` (this run: `{record['command']}`).",
    ]) + "\n"
