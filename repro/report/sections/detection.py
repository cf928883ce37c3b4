"""Detection: Tables 4 and 5 (the paper's rows, measured rows when present) and per-class AP."""
from __future__ import annotations

import math

import pandas as pd

from protocols import paper
from repro.report import figures_extra
from repro.report.cells import CsvCells, render
from repro.report.context import ReportContext
from repro.report.document import Block, Paragraph, Section
from repro.report.figures_extra import MAX_LABELLED_CLASSES
from repro.report.inputs import TABLE_FILES, DetEvalInfo, RunInputs
from repro.report.tables import Column, csv_table, frame_table, guess_columns, text, value

PAPER_TABLES = {
    "table4": ("Table 4 — ILSVRC 2014 detection", paper.TABLE4,
               {"team": ("team", "text"), "year": ("year", "text"), "place": ("place", "text"),
                "map_pct": ("mAP", "pct_value"), "external_data": ("external data", "text"),
                "ensemble": ("ensemble", "text"), "approach": ("approach", "text")}),
    "table5": ("Table 5 — single-model detection", paper.TABLE5,
               {"team": ("team", "text"), "map_pct": ("mAP", "pct_value"),
                "contextual_model": ("contextual model", "text"),
                "bounding_box_regression": ("bounding box regression", "text")}),
}
AP_COLUMNS = (value("class id", "class_id", "int"), value("WNID", "wnid"), value("name", "name"),
              value("AP", "ap", "pct"), value("positives", "n_pos", "int"),
              value("detections", "n_det", "int"))
#: With more classes than this, the AP table shows the best and worst this many.
AP_TABLE_ENDS = 10


def _versus_paper(name: str, frame: pd.DataFrame) -> list[Column]:
    """With a ``map`` column (a fraction), the paper's GoogLeNet value and the difference beside it."""
    if "map" not in frame.columns:
        return []
    table = PAPER_TABLES[name][1]
    googlenet = float(table.loc[table["team"] == "GoogLeNet", "map_pct"].iloc[0]) / 100
    return [text("paper GoogLeNet mAP", lambda r: render(googlenet, "pct")),
            text("measured - paper", lambda r: render(float(r["map"]) - googlenet, "pp"))]


def _paper_and_measured(ctx: ReportContext, run: RunInputs, name: str) -> list[Block]:
    title, frame, columns = PAPER_TABLES[name]
    notes = [f"Source: {paper.CITATION}."]
    if name == "table5":
        notes.append(f"Note: {paper.PROTOCOL_NOTES['detection-single-model']}.")
    blocks: list[Block] = [frame_table(f"{name}_paper", f"{title} (paper)", frame, columns, notes)]
    measured = run.tables.get(name)
    if measured is None:
        blocks.append(Paragraph(f"{title}: not measured in this run (no "
                                f"{TABLE_FILES[name]} in {run.root}); the paper's rows are shown "
                                "alone.", "absent"))
        return blocks
    data = sorted({f"{ctx.detection_data(r).name}: {ctx.detection_data(r).verdict}"
                   for r in run.det_evals})
    cells = CsvCells(run.label, TABLE_FILES[name], measured)
    blocks.append(csv_table(name, f"{title} (measured)", cells,
                            guess_columns(measured) + _versus_paper(name, measured),
                            notes=[f"Detection data of this run: {d}." for d in data]
                            or ["No `repro det-eval` manifest in this run identifies the data of "
                                "these rows."]))
    return blocks


def _ap_rows(result: DetEvalInfo) -> list[int]:
    order = result.frame.sort_values(["ap", "class_id"], ascending=[False, True],
                                     na_position="last").index.tolist()
    if len(order) <= MAX_LABELLED_CLASSES:
        return order
    return order[:AP_TABLE_ENDS] + order[-AP_TABLE_ENDS:]


def _per_class(ctx: ReportContext, run: RunInputs, result: DetEvalInfo) -> list[Block]:
    data = ctx.detection_data(result)
    source = run.rel(result.csv)
    ap = result.frame["ap"]
    csv_map = float(ap.mean()) if ap.notna().any() else math.nan  # pandas' mean skips NaN
    recorded = result.manifest.get("map")
    blocks: list[Block] = []
    if not data.comparable:
        blocks.append(Paragraph(f"{source}: measured on {data.name}. {data.verdict}.", "warning"))
    stem = ctx.figure_stem(run, "fig_ap_" + result.csv.stem)
    figures_extra.per_class_ap(result.frame, stem, f"Per-class AP, {source}")
    blocks.append(ctx.figure(f"fig_ap_{result.csv.stem}",
                             f"Average precision per class ({source}), sorted; the dashed line is "
                             f"the mean over classes with positives. {data.verdict}.",
                             stem.with_suffix(".png")))
    rows = _ap_rows(result)
    shown = "every class" if len(rows) == len(result.frame) else \
        f"the {AP_TABLE_ENDS} best and {AP_TABLE_ENDS} worst classes (all in the CSV)"
    notes = [f"mAP {render(csv_map, 'pct')} over {int(ap.notna().sum())} classes with positives "
             f"(classes without positives have AP nan and are left out). Scored by `repro det-eval` "
             f"with the ILSVRC 2014 devkit rules."]
    if recorded is not None and not math.isclose(float(recorded), csv_map, abs_tol=1e-12):
        notes.append(f"WARNING: the manifest records mAP {render(recorded, 'pct')}, the CSV gives "
                     f"{render(csv_map, 'pct')}: the two files are from different runs.")
    blocks.append(csv_table(f"ap_{result.csv.stem}", f"Per-class AP — {source} ({shown})",
                            CsvCells(run.label, source, result.frame), AP_COLUMNS, rows, notes))
    return blocks


def section(ctx: ReportContext) -> Section:
    """Detection (Section 8): paper Tables 4-5, measured rows and per-class AP when present."""
    run = ctx.main
    blocks: list[Block] = (_paper_and_measured(ctx, run, "table4")
                           + _paper_and_measured(ctx, run, "table5"))
    if not run.det_evals:
        blocks.append(Paragraph("Per-class AP: not measured in this run (no `repro det-eval` "
                                f"result, X.csv with X.csv.manifest.json, under {run.root}).",
                                "absent"))
    for result in run.det_evals:
        blocks += _per_class(ctx, run, result)
    return Section("detection", "Detection — Tables 4 and 5", tuple(blocks))
