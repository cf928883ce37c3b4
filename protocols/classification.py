"""Tables 2 and 3 measured from stores, beside the paper's, with the plots and the ablation.

Table 3's rows are (models, crops) in {1, K} x {1, 10, 144}, K = number of members available (the
paper has 7; fewer are reported plainly). The single-model rows use the first member. Each row has
measured top-5 and top-1 error with exact 95% intervals, the paper's value beside it, and McNemar's
paired test against the base row (1 model, 1 crop) on the same images (rows computed by
:mod:`repro.engine.derive`). Registered as tables ``2`` and ``3`` of :data:`repro.tables.TABLES`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from protocols import paper
from protocols.tables import write_paper_table
from repro.atomic import write_text
from repro.errors import ReproError
from repro.tables import TABLES, TableOutput, TableWriter

if TYPE_CHECKING:  # pragma: no cover - typing only
    from repro.engine.members import Members

TABLE3_CROPS = (1, 10, 144)
PAPER_MODELS = 7


def table3(members: Members, rule: str = "mean") -> pd.DataFrame:
    """Our Table 3 beside the paper's, one row per (models, crops) the stores can give."""
    from repro.engine.derive import error_row  # scipy: imported when a table is made, not at registration

    crop_counts = [c for c in TABLE3_CROPS if all(
        f"mean-{c}" in s.spec.reductions for s in members.stores)]
    model_counts = sorted({1, len(members.stores)})
    rows, base = [], None
    for models in model_counts:
        for crops in crop_counts:
            row, top5 = error_row(members, models, crops, rule, base)
            if base is None:
                base = top5
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["vs_base"] = frame["top5_err"] - frame["top5_err"].iloc[0]
    paper3 = paper.TABLE3.set_index(["models", "crops"])
    frame["paper_models"] = [PAPER_MODELS if m > 1 else 1 for m in frame["models"]]
    keys = list(zip(frame["paper_models"], frame["crops"]))
    frame["paper_top5_err"] = [paper3.loc[k, "top5_err_pct"] / 100 if k in paper3.index else np.nan
                               for k in keys]
    frame["paper_vs_base"] = [paper3.loc[k, "vs_base_pct"] / 100 if k in paper3.index else np.nan
                              for k in keys]
    frame["members"] = [", ".join(members.keys[:m]) for m in frame["models"]]
    frame["combine"] = rule
    return frame


def ordering_checks(frame: pd.DataFrame) -> pd.DataFrame:
    """Per claim of the paper's Table 3 (more crops / more models lower the error): ours holds?"""
    checks = []
    err = {(r.models, r.crops): r.top5_err for r in frame.itertuples()}
    for (m, c), value in sorted(err.items()):
        for (m2, c2), value2 in sorted(err.items()):
            if (m2 == m and c2 > c) or (c2 == c and m2 > m):
                claim = (f"{m2} model(s) x {c2} crops below {m} model(s) x {c} crops")
                checks.append({"claim": claim, "ours_holds": bool(value2 < value),
                               "ours": f"{100 * value2:.2f}% vs {100 * value:.2f}%"})
    return pd.DataFrame(checks)


def table2(frame: pd.DataFrame, label: str, dataset: str) -> pd.DataFrame:
    """The paper's Table 2 with our best row (most models, most crops) appended."""
    best = frame.sort_values(["models", "crops"]).iloc[-1]
    ours = pd.DataFrame([{"team": label, "year": "this run", "place": "-",
                          "top5_err_pct": round(100 * best.top5_err, 2),
                          "external_data": f"measured on {dataset} ({int(best.models)} model(s), "
                                           f"{int(best.crops)} crops)"}])
    return pd.concat([paper.TABLE2.astype({"year": str}), ours], ignore_index=True)




def table3_markdown(frame: pd.DataFrame, dataset: str, notes: list[str]) -> str:
    """Markdown of our Table 3 beside the paper's, with the ordering checks and notes."""
    pct = lambda v: "" if pd.isna(v) else f"{100 * v:.2f}%"  # noqa: E731
    view = pd.DataFrame({
        "models": frame["models"], "crops": frame["crops"], "cost": frame["cost"],
        "top-5 error": [f"{pct(e)} [{pct(lo)}, {pct(hi)}]" for e, lo, hi in
                        zip(frame["top5_err"], frame["top5_ci_low"], frame["top5_ci_high"])],
        "paper top-5": frame["paper_top5_err"].map(pct),
        "vs base": frame["vs_base"].map(lambda v: f"{100 * v:+.2f}%"),
        "paper vs base": frame["paper_vs_base"].map(lambda v: "" if pd.isna(v) else f"{100 * v:+.2f}%"),
        "p (McNemar vs base)": frame["p_vs_base"].map(lambda v: "" if pd.isna(v) else f"{v:.3g}"),
        "top-1 error": [f"{pct(e)} [{pct(lo)}, {pct(hi)}]" for e, lo, hi in
                        zip(frame["top1_err"], frame["top1_ci_low"], frame["top1_ci_high"])],
        "images": frame["n_evaluated"].astype(str) + "/" + frame["n_images"].astype(str),
    })
    checks = ordering_checks(frame)
    members = len(frame["members"].iloc[-1].split(", "))
    lines = [f"# Table 3 — classification, measured on {dataset}, beside the paper", "",
             view.to_markdown(index=False), "",
             "Brackets: exact (Clopper-Pearson) 95% intervals. Paper values: "
             f"{paper.CITATION}, Table 3 (7 models); the paper reports no top-1 error.", ""]
    if members < PAPER_MODELS:
        lines += [f"**Only {members} model(s) available** (the paper ensembles {PAPER_MODELS}); the "
                  f"multi-model rows use {members} and are compared with the paper's 7-model rows.", ""]
    lines += ["Members: " + frame["members"].iloc[-1], "", "Does the paper's ordering hold here?", "",
              checks.to_markdown(index=False) if not checks.empty else "(a single row: nothing to order)",
              ""]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write_measured(out: Path, store: Path, models: str | None = None, combine: str = "mean",
                   dataset_name: str = "the evaluated dataset", notes: tuple[str, ...] = ()) -> TableOutput:
    """Tables 2-3 measured from ``store``, the top-5-vs-cost plot, the crop-count and ensemble-size
    curves and the max-over-crops ablation, into ``out``; nothing runs a network."""
    from repro.engine.derive import crop_curve, ensemble_size_curve
    from repro.engine.members import open_members
    from repro.report import plots  # matplotlib: imported when a table is made, not at registration

    out = Path(out)
    members = open_members(store, models.split(",") if models else None)
    spec = members.stores[0].spec
    notes = list(notes) + [paper.PROTOCOL_NOTES["10-crop"]]
    if spec.crop_size != 224:
        notes.append(f"crops are {spec.crop_size}px ({spec.scheme_id}); the paper's are 224px")
    frame = table3(members, combine)
    paths = [write_text(out / "table3_classification.csv", frame.to_csv(index=False)),
             write_text(out / "table3_classification.md", table3_markdown(frame, dataset_name, notes))]
    t2 = table2(frame, "this reproduction", dataset_name)
    paths.append(write_text(out / "table2_classification_ilsvrc.csv", t2.to_csv(index=False)))
    paths.append(write_text(out / "table2_classification_ilsvrc.md",
                            "# Table 2 — ILSVRC classification (top-5 error), with this run's best row\n\n"
                            + t2.to_markdown(index=False) + "\n\nThe last row is measured on "
                            + f"{dataset_name}; the others are the paper's, on ILSVRC 2012 test/val.\n"
                            + "".join(f"- {n}\n" for n in notes)))
    paper_points = paper.TABLE3.assign(top5_err=paper.TABLE3["top5_err_pct"] / 100)
    paths += plots.error_vs_cost(frame, paper_points, out / "fig_top5_vs_cost", f"ours ({dataset_name})")
    curve = crop_curve(members, combine)
    paths += plots.curve(curve, "crops", out / "fig_error_vs_crops", "Error vs crops (scale order)", "crops")
    if len(members.stores) > 1:
        sizes = ensemble_size_curve(members, max(curve["crops"]), combine)
        paths += plots.curve(sizes, "models", out / "fig_error_vs_models", "Error vs ensemble size",
                             "models", group="crops")
    ablation = pd.concat([table3(members, rule).assign(rule=rule) for rule in ("mean", "max-mean")])
    ablation = ablation[ablation["crops"] > 1][["rule", "models", "crops", "top5_err", "top1_err"]]
    paths.append(write_text(out / "ablation_mean_vs_max.csv", ablation.to_csv(index=False)))
    summary = frame[["models", "crops", "cost", "top5_err", "top1_err", "paper_top5_err",
                     "n_evaluated"]].to_string(index=False)
    return TableOutput(tuple(paths), f"{summary}\nwrote Tables 2-3, plots and the mean-vs-max ablation to {out}")


def _writer(number: int):
    def write(out: Path, store: Path | None = None, **options) -> TableOutput:
        if store is not None:
            return write_measured(out, store, **options)
        if options:
            flags = ", ".join("--" + k.replace("_", "-") for k in sorted(options))
            raise ReproError(f"{flags} go with --store (measured rows); without it table {number} is "
                             f"the paper's printed values")
        return write_paper_table(number, out)
    return write


for _number in (2, 3):
    TABLES.register(str(_number), TableWriter(
        str(_number), f"Table {_number}: the paper's values, or measured from a store with --store",
        _writer(_number), ("out", "store", "models", "combine", "dataset_name", "notes")))
