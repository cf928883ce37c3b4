"""The issue's performance targets, each checked against one benchmark run's numbers.

Ratios of precision modes are judged against the fastest fp32 backend of the same run (the strict
reading); the ratio to plain MXNet fp32 is given beside it, because that is the same runtime.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from repro import results_schema as schema
from repro.engine.crops import get_scheme
from repro.engine.reductions import reductions_for

E2E_BOUND_FRACTION = 0.90
PEAK_FRACTION = 0.80
INT8_SPEEDUP = 3.0
BF16_SPEEDUP = 1.2
MEMORY_GROWTH = 1.10  # peak RSS at 4n images over 2n images, 144 crops: "flat"


def add_bounds(bare: pd.DataFrame, e2e: pd.DataFrame) -> pd.DataFrame:
    """``e2e`` with the bare-network bound (best bare crops/s of the same model and backend over the
    batch sizes, divided by crops per image) and the fraction of it reached."""
    best = bare.groupby(["model", "backend"])["crops_per_s"].max()
    bound = [best.get((m, b), float("nan")) / n
             for m, b, n in zip(e2e["model"], e2e["backend"], e2e["crops_per_image"])]
    return e2e.assign(bound_images_per_s=[round(b, 3) for b in bound],
                      bound_fraction=(e2e["images_per_s"] / bound).round(4))


def _row(target: str, model: str, measured: float | None, required: str, met: bool | None,
         detail: str) -> dict:
    return {"target": target, "model": model,
            "measured": None if measured is None else round(float(measured), 4),
            "required": required, "met": "n/a" if met is None else ("yes" if met else "NO"),
            "detail": detail}


def _best(bare: pd.DataFrame, model: str, precision: str | None = None,
          backend: str | None = None) -> pd.Series | None:
    rows = bare[(bare["model"] == model)
                & ((bare["precision"] == precision) if precision else True)
                & ((bare["backend"] == backend) if backend else True)]
    return None if rows.empty else rows.loc[rows["crops_per_s"].idxmax()]


def _speedup(bare: pd.DataFrame, model: str, precision: str, required: float) -> list[dict]:
    fast, fp32, plain = (_best(bare, model, precision), _best(bare, model, "fp32"),
                         _best(bare, model, backend="mxnet"))
    if fast is None or fp32 is None:
        return []
    vs_plain = f"; {fast['crops_per_s'] / plain['crops_per_s']:.2f}x MXNet fp32 " \
               f"({plain['crops_per_s']:.1f} crops/s)" if plain is not None else ""
    ratio = fast["crops_per_s"] / fp32["crops_per_s"]
    return [_row(f"{precision} >= {required}x fp32 crops/s", model, ratio, f">= {required}",
                 ratio >= required,
                 f"{fast['backend']} {fast['crops_per_s']:.1f} crops/s (batch {fast['batch']}) vs fastest "
                 f"fp32 {fp32['backend']} {fp32['crops_per_s']:.1f} (batch {fp32['batch']}){vs_plain}")]


def check_targets(bare: pd.DataFrame, e2e: pd.DataFrame, peers: pd.DataFrame,
                  agreement: pd.DataFrame, memory: pd.DataFrame) -> pd.DataFrame:
    """One row per target (and model where it applies): measured value, requirement, met."""
    rows = []
    for (model, backend), group in e2e[e2e["crops_per_image"] == 144].groupby(["model", "backend"]):
        worst = group.loc[group["bound_fraction"].idxmin()]
        rows.append(_row("144-crop end to end >= 90% of bare bound", f"{model} / {backend}",
                         worst["bound_fraction"], f">= {E2E_BOUND_FRACTION}",
                         worst["bound_fraction"] >= E2E_BOUND_FRACTION,
                         f"{worst['images_per_s']:.3f} images/s vs bound {worst['bound_images_per_s']:.3f} "
                         f"({worst['images']} images)"))
    for model in sorted(set(peers["model"])):
        ours = peers[(peers["model"] == model) & peers["peer"].str.startswith("ours")]
        others = peers[(peers["model"] == model) & ~peers["peer"].str.startswith("ours")]
        if ours.empty or others.empty:
            continue
        best_ours, best_peer = (ours.loc[ours["images_per_s"].idxmax()],
                                others.loc[others["images_per_s"].idxmax()])
        ratio = best_ours["images_per_s"] / best_peer["images_per_s"]
        rows.append(_row("fp32 single-crop images/s >= fastest peer", model, ratio, ">= 1.0", ratio >= 1.0,
                         f"{best_ours['peer']} {best_ours['images_per_s']:.1f} vs {best_peer['peer']} "
                         f"{best_peer['images_per_s']:.1f} images/s"))
    for model in sorted(set(bare["model"])):
        best = _best(bare, model, "fp32")
        if best is not None and best["peak_fraction"] is not None and pd.notna(best["peak_fraction"]):
            rows.append(_row("fp32 bare network >= 80% of peak FLOP/s", model, best["peak_fraction"],
                             f">= {PEAK_FRACTION}", best["peak_fraction"] >= PEAK_FRACTION,
                             f"{best['backend']} batch {best['batch']}: {best['gflops']:.0f} of "
                             f"{best['peak_gflops']:.0f} GFLOP/s"))
        rows += _speedup(bare, model, "int8", INT8_SPEEDUP)
        rows += _speedup(bare, model, "bf16", BF16_SPEEDUP)
    for backend, group in agreement.groupby("backend") if not agreement.empty else ():
        row = group[(group["member"] == "ensemble") & (group["crops"] == group["crops"].max())].iloc[0]
        rows.append(_row(f"{backend} agreement with fp32 reported", "trained members",
                         row["top1_agreement"], "measured", True,
                         f"ensemble, {row['crops']} crops, {row['images']} images: top-1 agreement "
                         f"{row['top1_agreement']:.4f}, top-5 {row['top5_agreement']:.4f}, top-1 err "
                         f"{row['fp32_top1_err']:.4f} -> {row['mode_top1_err']:.4f}, top-5 err "
                         f"{row['fp32_top5_err']:.4f} -> {row['mode_top5_err']:.4f}"))
    kept = [r.name for r in reductions_for(get_scheme("144"))]
    rows.append(_row("Table 3: 144 forward passes per image per model", "all", 144, "144",
                     {"mean-1", "mean-10", "mean-144"} <= set(kept),
                     f"one crops-144 pass stores {', '.join(kept)}"))
    for (model, backend), group in memory.groupby(["model", "backend"]) if not memory.empty else ():
        if len(group) < 3:
            continue
        group = group.sort_values("images")
        middle, large = group.iloc[-2], group.iloc[-1]
        growth = large["peak_rss_mb"] / middle["peak_rss_mb"]
        sizes = ", ".join(f"{r['peak_rss_mb']:.0f} MB at {r['images']}" for _, r in group.iterrows())
        rows.append(_row("memory flat in dataset size (144 crops)", f"{model} / {backend}", growth,
                         f"<= {MEMORY_GROWTH}", growth <= MEMORY_GROWTH,
                         f"peak RSS of `repro evaluate` (own process): {sizes} images; judged from "
                         f"{middle['images']} to {large['images']} images (the prefetch window fills first)"))
    return pd.DataFrame(rows)


# -- the scale run (`repro bench --scale`) and the other runs' rows of targets.csv ---------------------

SCALE_PREFIX = "scale: "
FAST_MODES_PREFIX = "fast modes: "
RUN_PREFIXES = (SCALE_PREFIX, FAST_MODES_PREFIX)  # the main benchmark's targets have none
#: step -> (seconds, peak RSS MB) the read path must stay within on 7 x 50,000 x 1,000 (issue 14).
READ_TARGETS = {"table3": (60.0, 3072.0), "ensemble": (15.0, None), "report": (120.0, None)}
READ_COMMANDS = {"table3": "repro table 3", "ensemble": "repro ensemble --crops 144", "report": "repro report"}
EVALUATE_GROWTH = 1.10  # peak RSS and seconds per image, largest index over smallest: "flat"


def check_scale_targets(scale: pd.DataFrame, size: str, evaluated: str) -> pd.DataFrame:
    """The scale run's targets: the readers' seconds and peak RSS on the ``size`` store, and the
    peak RSS and seconds per image of `repro evaluate` (of the ``evaluated`` model) flat in the
    number of images."""
    rows = []
    for step, (seconds, megabytes) in READ_TARGETS.items():
        row = scale[scale["step"] == step].iloc[0]
        for measured, limit, unit in ((row["seconds"], seconds, "s"), (row["peak_rss_mb"], megabytes, "MB")):
            if limit is not None:
                rows.append(_row(f"{SCALE_PREFIX}{READ_COMMANDS[step]} <= {limit:g} {unit}",
                                 f"synthetic {size}", measured, f"<= {limit:g}", measured <= limit,
                                 f"{row['seconds']:.1f} s wall, {row['cpu_seconds']:.1f} s CPU, "
                                 f"{row['peak_rss_mb']:.0f} MB peak RSS (own process), cold cache "
                                 f"{bool(row['cold_cache'])}, load {row['load']}"))
    runs = scale[scale["step"] == "evaluate"].sort_values("images")
    slope = scale[scale["step"] == "evaluate slope"].iloc[0]
    small, large = runs.iloc[0], runs.iloc[-1]
    for column, what, fitted in (("peak_rss_mb", "peak RSS", f"{slope['rss_mb_per_10k_images']:+.1f} MB "
                                  f"per 10k images"),
                                 ("seconds_per_image", "seconds per image",
                                  f"{slope['seconds_per_image'] * 1e3:.3f} ms per image")):
        growth = large[column] / small[column]
        values = ", ".join(f"{r[column]:.4g} at {r['images']}" for _, r in runs.iterrows())
        rows.append(_row(f"{SCALE_PREFIX}repro evaluate {what} flat in images", evaluated,
                         growth, f"<= {EVALUATE_GROWTH}", growth <= EVALUATE_GROWTH,
                         f"{values} images (largest over smallest); fitted slope {fitted}; "
                         f"load {small['load']}..{large['load']}"))
    return pd.DataFrame(rows)


def _run_of(target: str) -> str:
    return next((prefix for prefix in RUN_PREFIXES if target.startswith(prefix)), "")


def merged_targets(path: str | Path, rows: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    """``rows`` (one kind of run's targets, each named with ``prefix``; the main benchmark's have
    none) after the rows the other kinds of run left in the targets file at ``path``."""
    if not Path(path).is_file():
        return rows
    kept = schema.read_frame_at(schema.BENCH_TARGETS, path)
    kept = kept[[_run_of(target) != prefix for target in kept["target"]]]
    return pd.concat([kept, rows], ignore_index=True) if not kept.empty else rows


def check_fast_mode_targets(fast: pd.DataFrame, model: str) -> pd.DataFrame:
    """The fast-modes run's rows: each non-fp32 mode's top-1 agreement with fp32 on each image set
    (reported, as on the trained members), or n/a with the reason when this CPU cannot run it."""
    rows = []
    for _, row in fast[fast["precision"] != "fp32"].iterrows():
        ran = pd.notna(row["top1_agreement"])
        detail = (f"{row['images']} images, 1 crop: top-1 err {row['top1_err_diff']:+.4f}, top-5 err "
                  f"{row['top5_err_diff']:+.4f} vs fp32; {row['speedup']:.2f}x fp32 crops/s"
                  if ran else row["note"])
        rows.append(_row(f"{FAST_MODES_PREFIX}{row['backend']} top-1 agreement with fp32 reported",
                         f"{model} / {row['images_set']}", row["top1_agreement"] if ran else None,
                         "measured", True if ran else None, detail))
    return pd.DataFrame(rows, columns=list(schema.BENCH_TARGETS.names))
