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
from protocols.tables import MARKDOWN_COLUMNS, paper_table, write_paper_table
from repro import results_schema as schema
from repro.atomic import write_text
from repro.errors import ReproError
from repro.report.tables import artefact_markdown, difference, interval, value
from repro.tables import TABLES, TableOutput, TableWriter

if TYPE_CHECKING:  # pragma: no cover - typing only
    from repro.engine.members import Members

TABLE3_CROPS = (1, 10, 144)
PAPER_MODELS = 7


def table3(members: Members, rule: str = "mean") -> pd.DataFrame:
    """Our Table 3 beside the paper's, one row per (models, crops) the stores can give, with what each
    row cost on the machine that ran it (:mod:`repro.engine.run_cost`)."""
    from repro.engine.derive import error_row  # scipy: imported when a table is made, not at registration
    from repro.engine.run_cost import members_cost, store_cost

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
    costs = [store_cost(store) for store in members.stores]
    frame["seconds_per_image"] = [members_cost(costs[:m], c) for m, c in zip(frame["models"], frame["crops"])]
    frame["seconds_per_image"] = frame["seconds_per_image"].astype(float)
    frame["machine"] = ["; ".join(sorted({name for cost in costs[:m] for name in cost.machines}))
                        for m in frame["models"]]
    return frame


#: Significance level of the paired test behind each claim's verdict (two-sided exact McNemar).
CLAIM_ALPHA = 0.05
VERDICTS = ("holds", "reversed", "not resolved at this size")


def verdict(diff: float, p_value: float, alpha: float = CLAIM_ALPHA) -> str:
    """A claim "the second row's error is lower": holds / reversed when the paired test separates the
    rows at ``alpha``, otherwise not resolved — never a verdict from a difference inside the noise."""
    if p_value < alpha and diff < 0:
        return VERDICTS[0]
    if p_value < alpha and diff > 0:
        return VERDICTS[1]
    return VERDICTS[2]


#: The error each claim is tested on: the paper's top-5 (its Table 3), and top-1, which on a set of
#: few classes (the mini-ILSVRC's 10) still separates rows whose top-5 error hardly moves.
CLAIM_METRICS = (("top-5 error", "top5_err", 1), ("top-1 error", "top1_err", 0))


def table3_claims(members: Members, frame: pd.DataFrame, rule: str = "mean") -> pd.DataFrame:
    """The paper's Table 3 orderings (more crops lower the error, at each model count; more models
    lower it, at each crop count), each on top-5 and on top-1 error (:data:`CLAIM_METRICS`) with our
    difference, its paired test on the same images and a verdict; the paper's top-5 difference beside
    it where the paper has both rows (the paper gives no top-1 errors in Table 3)."""
    from repro.engine.derive import correct  # scipy: imported when a table is made
    from repro.metrics.classification import mcnemar

    rows = {(int(r.models), int(r.crops)): r for r in frame.itertuples()}
    hits = {key: correct(members, key[0], key[1], rule) for key in rows}
    paper3 = paper.TABLE3.set_index(["models", "crops"])["top5_err_pct"] / 100
    claims = []
    for metric, column, position in CLAIM_METRICS:
        for (m, c), first in sorted(rows.items()):
            for (m2, c2), second in sorted(rows.items()):
                if not ((m2 == m and c2 > c) or (c2 == c and m2 > m)):
                    continue
                test = mcnemar(hits[(m, c)][position], hits[(m2, c2)][position])
                err, err_2 = float(getattr(first, column)), float(getattr(second, column))
                keys = [(PAPER_MODELS if k[0] > 1 else 1, k[1]) for k in ((m, c), (m2, c2))]
                paper_diff = (paper3[keys[1]] - paper3[keys[0]]) \
                    if column == "top5_err" and all(k in paper3.index for k in keys) else np.nan
                kind = "more crops" if m2 == m else "more models"
                claims.append({"claim": f"{kind}: {m2} model(s) x {c2} crops below {m} model(s) x {c} crops",
                               "metric": metric, "models": m, "crops": c, "models_2": m2, "crops_2": c2,
                               "err": err, "err_2": err_2, "diff": err_2 - err,
                               "only_first": test["a_only"], "only_second": test["b_only"],
                               "p_value": test["p_value"], "verdict": verdict(err_2 - err, test["p_value"]),
                               "paper_diff": paper_diff})
    return pd.DataFrame(claims, columns=schema.TABLE3_CLAIMS.names)


def table2(frame: pd.DataFrame, label: str, dataset: str) -> pd.DataFrame:
    """The paper's Table 2 with our best row (most models, most crops) appended."""
    best = frame.sort_values(["models", "crops"]).iloc[-1]
    ours = pd.DataFrame([{"team": label, "year": "this run", "place": "-", "top5_err": best.top5_err,
                          "external_data": f"measured on {dataset} ({int(best.models)} model(s), "
                                           f"{int(best.crops)} crops)"}])
    return pd.concat([paper_table(2).astype({"year": str}), ours], ignore_index=True)


#: Table 3's Markdown: measured beside the paper, then what the paper does not report.
TABLE3_MARKDOWN = (
    value("models", "models"), value("crops", "crops"), value("cost", "cost"),
    value("s / image", "seconds_per_image"), value("top-5 error", "top5_err"), interval("95% CI", "top5_ci_low", "top5_ci_high"),
    value("paper top-5", "paper_top5_err"), difference("measured - paper", "top5_err", "paper_top5_err"),
    value("vs base", "vs_base"), value("paper vs base", "paper_vs_base"),
    value("p (McNemar vs base)", "p_vs_base"), value("top-1 error", "top1_err"),
    interval("top-1 95% CI", "top1_ci_low", "top1_ci_high"), value("evaluated", "n_evaluated"),
    value("images", "n_images"),
)
CLAIMS_MARKDOWN = (
    value("claim", "claim"), value("error", "metric"), value("first", "err"), value("second", "err_2"),
    value("difference", "diff"), value("only first", "only_first"), value("only second", "only_second"),
    value("p (McNemar)", "p_value"), value("verdict", "verdict"), value("paper difference", "paper_diff"),
)


def _cost_note(frame: pd.DataFrame) -> str:
    """What the measured-cost column is, and where it was measured."""
    machines = sorted({m for text in frame["machine"] for m in text.split("; ") if m})
    if frame["seconds_per_image"].isna().all():
        return ("s / image: not measured (the stores' run records predate the cost fields; "
                "re-evaluate to measure it).")
    return ("cost is the paper's (models x crops); s / image is measured: the wall time of `repro "
            "evaluate` per image computed, each member's share of its runs (its forward time and an "
            "equal part of decoding and cropping), summed over the row's members; a row of fewer crops "
            "than the stored pass is that pass's time scaled by its share of the crops. Measured on "
            + "; ".join(machines) + ".")


def table3_markdown(frame: pd.DataFrame, claims: pd.DataFrame, dataset: str, notes: list[str]) -> str:
    """Markdown of our Table 3 beside the paper's, with the paper's orderings tested and the notes."""
    members = len(frame["members"].iloc[-1].split(", "))
    lines = [f"# Table 3 — classification, measured on {dataset}, beside the paper", "",
             artefact_markdown(schema.TABLE3, frame, TABLE3_MARKDOWN), "",
             "Rates are percentages; differences (vs base, measured - paper) are percentage points "
             "(pp). Brackets: exact (Clopper-Pearson) 95% intervals. Paper values: "
             f"{paper.CITATION}, Table 3 (7 models); the paper reports no top-1 error.", "",
             _cost_note(frame), ""]
    if members < PAPER_MODELS:
        lines += [f"**Only {members} model(s) available** (the paper ensembles {PAPER_MODELS}); the "
                  f"multi-model rows use {members} and are compared with the paper's 7-model rows.", ""]
    lines += ["Members: " + frame["members"].iloc[-1], "",
              f"Do the paper's orderings hold here? Each claim's difference in top-5 error (the paper's) and "
              f"in top-1 error, McNemar's exact test on "
              f"the same images (only first / only second: images only that row gets right), and a verdict "
              f"at p < {CLAIM_ALPHA}: holds, reversed, or not resolved at this size.", "",
              artefact_markdown(schema.TABLE3_CLAIMS, claims, CLAIMS_MARKDOWN) if not claims.empty
              else "(a single row: nothing to order)", ""]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def table2_markdown(frame: pd.DataFrame, dataset: str, notes: list[str]) -> str:
    """Markdown of the paper's Table 2 with our best row."""
    return ("# Table 2 — ILSVRC classification (top-5 error), with this run's best row\n\n"
            + artefact_markdown(schema.TABLE2, frame, MARKDOWN_COLUMNS[2])
            + f"\n\nThe last row is measured on {dataset}; the others are the paper's, on ILSVRC "
              "2012 test/val.\n" + "".join(f"- {n}\n" for n in notes))


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
    claims = table3_claims(members, frame, combine)
    paths = [schema.write_frame(schema.TABLE3, frame, out), schema.write_frame(schema.TABLE3_CLAIMS, claims, out),
             write_text(schema.TABLE3.markdown_path(out), table3_markdown(frame, claims, dataset_name, notes))]
    t2 = table2(frame, "this reproduction", dataset_name)
    paths += [schema.write_frame(schema.TABLE2, t2, out),
              write_text(schema.TABLE2.markdown_path(out), table2_markdown(t2, dataset_name, notes))]
    paper_points = paper_table(3)
    paths += plots.error_vs_cost(frame, paper_points, schema.FIG_TOP5_VS_COST.path(out),
                                 f"ours ({dataset_name})", schema.FIG_TOP5_VS_COST)
    curve = crop_curve(members, combine)
    paths += plots.curve(curve, "crops", schema.FIG_ERROR_VS_CROPS.path(out), "Error vs crops (scale order)",
                         "crops", artefact=schema.FIG_ERROR_VS_CROPS)
    if len(members.stores) > 1:
        sizes = ensemble_size_curve(members, max(curve["crops"]), combine)
        paths += plots.curve(sizes, "models", schema.FIG_ERROR_VS_MODELS.path(out), "Error vs ensemble size",
                             "models", group="crops", artefact=schema.FIG_ERROR_VS_MODELS)
    ablation = pd.concat([table3(members, rule).assign(rule=rule) for rule in ("mean", "max-mean")])
    ablation = ablation[ablation["crops"] > 1][schema.ABLATION.names]
    paths.append(schema.write_frame(schema.ABLATION, ablation, out))
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
