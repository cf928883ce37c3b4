"""Tables 2 and 3, the crop-count and ensemble-size curves and the mean-vs-max ablation."""
from __future__ import annotations

import pandas as pd

from protocols import paper
from repro.report import figures_extra
from repro.report.cells import CsvCells
from repro.report.context import Classification, ReportContext
from repro.report.deviations import row_tags
from repro.report.document import Block, Paragraph, Section
from repro.report.inputs import TABLE_FILES, RunInputs
from repro.report.tables import csv_table, difference, frame_table, interval, text, value

READING = ("Rates are percent; differences are measured minus paper in percentage points (pp). "
           "Brackets: exact (Clopper-Pearson) 95% intervals. The paper reports no top-1 error.")
CURVE_COLUMNS = (value("models", "models", "int"), value("crops", "crops", "int"),
                 value("top-5 error", "top5_err", "pct"), value("top-1 error", "top1_err", "pct"))
FIGURE_CAPTIONS = {
    "fig_top5_vs_cost": "Top-5 error against cost (models x crops, log scale): the paper's Table 3 "
                        "points and this run's.",
    "fig_error_vs_crops": "Error against the number of crops: 1 and 10 (this project's crop "
                          "definitions), then the scale order 36, 72, 108, 144 (1, 2, 3, 4 scales).",
    "fig_error_vs_models": "Error against the number of ensemble members, 1 to K (the paper: 7).",
}


def _table3(run: RunInputs, facts: Classification) -> list[Block]:
    deviations = list(facts.deviations)
    cells = CsvCells(run.label, TABLE_FILES["table3"], run.tables["table3"])
    row = (value("models", "models", "int"), value("crops", "crops", "int"))
    versus_paper = [
        *row, value("cost", "cost", "int"),
        value("top-5 error", "top5_err", "pct"), interval("95% CI", "top5_ci_low", "top5_ci_high"),
        value("paper models", "paper_models", "int"), value("paper top-5", "paper_top5_err", "pct"),
        difference("measured - paper", "top5_err", "paper_top5_err"),
        value("vs base", "vs_base", "pp"), value("paper vs base", "paper_vs_base", "pp"),
        text("deviations (below)", lambda r: row_tags(deviations, int(r["models"]), int(r["crops"]))),
    ]
    measured_only = [
        *row, value("top-1 error", "top1_err", "pct"),
        interval("top-1 95% CI", "top1_ci_low", "top1_ci_high"),
        value("top-5 p vs base", "p_vs_base", "p"),
        value("evaluated", "n_evaluated", "int"), value("images", "n_images", "int"),
    ]
    notes = [f"{d.tag}: {d.text}" for d in deviations] + [READING]
    return [csv_table("table3", f"Table 3 — classification: measured top-5 error beside the paper's "
                      f"(combined by {facts.rule})", cells, versus_paper, notes=notes),
            csv_table("table3_more", "Table 3 (continued) — top-1 error, significance and images "
                      "(not in the paper)", cells, measured_only,
                      notes=["p: exact McNemar test of the row's top-5 correctness against the "
                             "1-model 1-crop row, on the same images."])]


def _table2(run: RunInputs, facts: Classification | None) -> Block:
    frame = run.tables.get("table2")
    if frame is None:
        return frame_table("table2_paper", "Table 2 — ILSVRC classification (paper values only)",
                           paper.TABLE2, {"team": ("team", "text"), "year": ("year", "text"),
                                          "place": ("place", "text"),
                                          "top5_err_pct": ("top-5 error", "pct_value"),
                                          "external_data": ("external data", "text")},
                           notes=[f"Source: {paper.CITATION}. No measured row in this run."])
    notes = [f"Rows 1-{len(paper.TABLE2)}: {paper.CITATION}, Table 2 (ILSVRC 2014 test set)."]
    if facts is not None:
        notes.append(f"Last row: this run's best Table 3 row, measured on {facts.data.name} — "
                     f"{facts.data.verdict}.")
    return csv_table("table2", "Table 2 — ILSVRC classification results with this run's best row",
                     CsvCells(run.label, TABLE_FILES["table2"], frame),
                     [value("team", "team"), value("year", "year"), value("place", "place"),
                      value("top-5 error", "top5_err_pct", "pct_value"),
                      value("external data / note", "external_data")], notes=notes)


def _figures(ctx: ReportContext, run: RunInputs, verdict: str) -> list[Block]:
    blocks: list[Block] = []
    for stem, caption in FIGURE_CAPTIONS.items():
        if stem not in run.figures:
            blocks.append(Paragraph(f"{stem}: not drawn in this run"
                                    + (" (one member only)." if stem == "fig_error_vs_models" else "."),
                                    "absent"))
            continue
        png = ctx.copy_figure(run, run.figures[stem])
        blocks.append(ctx.figure(stem, f"{caption} {verdict}", png))
        if stem != "fig_top5_vs_cost":
            data = pd.read_csv(run.figures[stem].with_suffix(".csv"))
            blocks.append(csv_table(f"{stem}_data", f"Data of {stem}",
                                    CsvCells(run.label, f"{stem}.csv", data), CURVE_COLUMNS))
    ablation = run.tables.get("ablation")
    if ablation is None:
        blocks.append(Paragraph("Mean vs max over crops: not measured in this run (no "
                                f"{TABLE_FILES['ablation']}).", "absent"))
        return blocks
    stem = ctx.figure_stem(run, "fig_mean_vs_max")
    figures_extra.mean_vs_max(ablation, stem)
    blocks.append(ctx.figure("fig_mean_vs_max", "Top-5 error with the paper's rule (mean over crops "
                             "and models) and with max over crops, mean over models — the "
                             f"alternative the authors found worse. {verdict}",
                             stem.with_suffix(".png")))
    blocks.append(csv_table("ablation", "Mean vs max over crops (Section 7)",
                            CsvCells(run.label, TABLE_FILES["ablation"], ablation),
                            [value("rule", "rule"), *CURVE_COLUMNS]))
    return blocks


def section(ctx: ReportContext) -> Section:
    """Classification (Section 7): Tables 2-3 measured beside the paper, curves and ablation."""
    run = ctx.main
    facts = ctx.classification(run)
    blocks: list[Block] = []
    if facts is None:
        blocks.append(Paragraph(f"Not measured in this run: no {TABLE_FILES['table3']} in {run.root} "
                                "(make it with `repro table 3 --store STORE --out DIR`).", "absent"))
        blocks.append(frame_table("table3_paper", "Table 3 — classification (paper values only)",
                                  paper.TABLE3, {"models": ("models", "int"), "crops": ("crops", "int"),
                                                 "cost": ("cost", "int"),
                                                 "top5_err_pct": ("top-5 error", "pct_value"),
                                                 "vs_base_pct": ("vs base", "pct_value")},
                                  notes=[f"Source: {paper.CITATION}, Table 3."]))
    else:
        if not facts.data.comparable:
            blocks.append(Paragraph(f"Measured on {facts.data.name}. {facts.data.verdict}.", "warning"))
        blocks += _table3(run, facts)
    blocks.append(_table2(run, facts))
    if facts is not None:
        blocks += _figures(ctx, run, "" if facts.data.comparable else f"({facts.data.verdict}.)")
    return Section("classification", "Classification — Tables 2 and 3", tuple(blocks))
