"""Tables 2 and 3, the crop-count and ensemble-size curves and the mean-vs-max ablation."""
from __future__ import annotations

from protocols import paper
from protocols.tables import MARKDOWN_COLUMNS, paper_table
from repro import results_schema as schema
from repro.report import figures_extra
from repro.report.cells import CsvCells
from repro.report.context import Classification, ReportContext
from repro.report.deviations import row_tags
from repro.report.document import Block, Paragraph, Section
from repro.report.inputs import RunInputs
from repro.report.tables import csv_table, difference, interval, text, value

READING = ("Rates are percent; differences are measured minus paper in percentage points (pp). "
           "Brackets: exact (Clopper-Pearson) 95% intervals. The paper reports no top-1 error.")
COST = ("cost: the paper's (models x crops); s / image: measured, seconds per image on the machine "
        "that ran the stores (the next table names it), from their run records; rows of fewer crops "
        "than the stored pass scaled by their share of its crops; empty for stores that predate it.")
CURVE_COLUMNS = (value("models", "models"), value("crops", "crops"), value("top-5 error", "top5_err"),
                 value("top-1 error", "top1_err"))
FIGURE_CAPTIONS = {
    "fig_top5_vs_cost": "Top-5 error against cost (models x crops, log scale): the paper's Table 3 "
                        "points and this run's.",
    "fig_error_vs_crops": "Error against the number of crops: 1 and 10 (this project's crop "
                          "definitions), then the scale order 36, 72, 108, 144 (1, 2, 3, 4 scales).",
    "fig_error_vs_models": "Error against the number of ensemble members, 1 to K (the paper: 7).",
}


def _table3(run: RunInputs, facts: Classification) -> list[Block]:
    deviations = list(facts.deviations)
    cells = CsvCells(run.label, schema.TABLE3.file, run.tables["table3"], schema.TABLE3)
    row = (value("models", "models"), value("crops", "crops"))
    versus_paper = [
        *row, value("cost", "cost"), value("s / image", "seconds_per_image"),
        value("top-5 error", "top5_err"), interval("95% CI", "top5_ci_low", "top5_ci_high"),
        value("paper models", "paper_models"), value("paper top-5", "paper_top5_err"),
        difference("measured - paper", "top5_err", "paper_top5_err"),
        value("vs base", "vs_base"), value("paper vs base", "paper_vs_base"),
        text("deviations (below)", lambda r: row_tags(deviations, int(r["models"]), int(r["crops"]))),
    ]
    measured_only = [
        *row, value("top-1 error", "top1_err"),
        interval("top-1 95% CI", "top1_ci_low", "top1_ci_high"),
        value("top-5 p vs base", "p_vs_base"),
        value("evaluated", "n_evaluated"), value("images", "n_images"), value("measured on", "machine"),
    ]
    notes = [f"{d.tag}: {d.text}" for d in deviations] + [READING, COST]
    return [csv_table("table3", f"Table 3 — classification: measured top-5 error beside the paper's "
                      f"(combined by {facts.rule})", cells, versus_paper, notes=notes),
            csv_table("table3_more", "Table 3 (continued) — top-1 error, significance and images "
                      "(not in the paper)", cells, measured_only,
                      notes=["p: exact McNemar test of the row's top-5 correctness against the "
                             "1-model 1-crop row, on the same images."]), *_claims(run)]


def _claims(run: RunInputs) -> list[Block]:
    """The paper's orderings, each with our difference, its paired test and the verdict."""
    frame = run.tables.get("table3_claims")
    if frame is None:
        return [Paragraph(f"The paper's orderings: not tested in this run (no {schema.TABLE3_CLAIMS.file}; "
                          f"make it with `{schema.TABLE3_CLAIMS.command}`).", "absent")]
    counts = frame["verdict"].value_counts()
    summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in ("holds", "reversed", "not resolved at this size"))
    return [csv_table("table3_claims", f"Table 3's claims tested: {summary}",
                      CsvCells(run.label, schema.TABLE3_CLAIMS.file, frame, schema.TABLE3_CLAIMS),
                      [value("claim", "claim"), value("error", "metric"), value("first", "err"),
                       value("second", "err_2"),
                       value("difference", "diff"), value("paper difference", "paper_diff"),
                       value("only first", "only_first"), value("only second", "only_second"),
                       value("p (McNemar)", "p_value"), value("verdict", "verdict")],
                      notes=["Each claim: the second row (more crops, or more models) has the lower "
                             "error, tested on top-5 error (the paper's Table 3) and on top-1 error (on a "
                             "set of few classes top-5 hardly moves). Difference = second - first; only first / only second: images "
                             "only that row gets right; p: exact two-sided McNemar test on the same "
                             "images. Verdict at p < 0.05: holds (lower and significant), reversed "
                             "(higher and significant), or not resolved at this size (inside the "
                             "noise, whatever its sign)."])]


def _paper_only(name: str, number: int, caption: str, note: str) -> Block:
    """The paper's Table ``number`` alone, from its schema form (rates as fractions)."""
    artefact = schema.get(f"table{number}_paper")
    return csv_table(name, caption, CsvCells(None, artefact.file, paper_table(number), artefact),
                     MARKDOWN_COLUMNS[number], notes=[note])


def _table2(run: RunInputs, facts: Classification | None) -> Block:
    frame = run.tables.get("table2")
    if frame is None:
        return _paper_only("table2_paper", 2, "Table 2 — ILSVRC classification (paper values only)",
                           f"Source: {paper.CITATION}. No measured row in this run.")
    notes = [f"Rows 1-{len(paper.TABLE2)}: {paper.CITATION}, Table 2 (ILSVRC 2014 test set)."]
    if facts is not None:
        notes.append(f"Last row: this run's best Table 3 row, measured on {facts.data.name} — "
                     f"{facts.data.verdict}.")
    return csv_table("table2", "Table 2 — ILSVRC classification results with this run's best row",
                     CsvCells(run.label, schema.TABLE2.file, frame, schema.TABLE2),
                     [value("team", "team"), value("year", "year"), value("place", "place"),
                      value("top-5 error", "top5_err"),
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
            artefact = schema.get(stem)
            blocks.append(csv_table(f"{stem}_data", f"Data of {stem}",
                                    CsvCells(run.label, f"{artefact.file}.csv", run.figure_data[stem],
                                             artefact), CURVE_COLUMNS))
    ablation = run.tables.get("ablation")
    if ablation is None:
        blocks.append(Paragraph("Mean vs max over crops: not measured in this run (no "
                                f"{schema.ABLATION.file}).", "absent"))
        return blocks
    stem = ctx.figure_stem(run, "fig_mean_vs_max")
    figures_extra.mean_vs_max(ablation, stem)
    blocks.append(ctx.figure("fig_mean_vs_max", "Top-5 error with the paper's rule (mean over crops "
                             "and models) and with max over crops, mean over models — the "
                             f"alternative the authors found worse. {verdict}",
                             stem.with_suffix(".png")))
    blocks.append(csv_table("ablation", "Mean vs max over crops (Section 7)",
                            CsvCells(run.label, schema.ABLATION.file, ablation, schema.ABLATION),
                            [value("rule", "rule"), *CURVE_COLUMNS]))
    return blocks


def section(ctx: ReportContext) -> Section:
    """Classification (Section 7): Tables 2-3 measured beside the paper, curves and ablation."""
    run = ctx.main
    facts = ctx.classification(run)
    blocks: list[Block] = []
    if facts is None:
        blocks.append(Paragraph(f"Not measured in this run: no {schema.TABLE3.file} in {run.root} "
                                f"(make it with `{schema.TABLE3.command}`).", "absent"))
        blocks.append(_paper_only("table3_paper", 3, "Table 3 — classification (paper values only)",
                                  f"Source: {paper.CITATION}, Table 3."))
    else:
        if not facts.data.comparable:
            blocks.append(Paragraph(f"Measured on {facts.data.name}. {facts.data.verdict}.", "warning"))
        blocks += _table3(run, facts)
    blocks.append(_table2(run, facts))
    if facts is not None:
        blocks += _figures(ctx, run, "" if facts.data.comparable else f"({facts.data.verdict}.)")
    return Section("classification", "Classification — Tables 2 and 3", tuple(blocks))
