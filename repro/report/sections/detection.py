"""Detection: Tables 4 and 5 (the paper's rows, ours beside the paper's GoogLeNet when measured), the
proposal table and per-class AP."""
from __future__ import annotations

import math

from protocols import paper
from protocols.detection_tables import PROPOSAL_COLUMNS
from protocols.tables import MARKDOWN_COLUMNS, paper_table
from repro import results_schema as schema
from repro.report import figures_extra
from repro.report.cells import CsvCells, render
from repro.report.context import ReportContext
from repro.report.document import Block, Paragraph, Section
from repro.report.figures_extra import MAX_LABELLED_CLASSES
from repro.report.inputs import DetEvalInfo, RunInputs
from repro.report.tables import csv_table, difference, value

TITLES = {4: "Table 4 — ILSVRC 2014 detection", 5: "Table 5 — single-model detection"}
AP_COLUMNS = (value("class id", "class_id"), value("WNID", "wnid"), value("name", "name"),
              value("AP", "ap"), value("positives", "n_pos"), value("detections", "n_det"))
#: With more classes than this, the AP table shows the best and worst this many.
AP_TABLE_ENDS = 10
VERSUS_PAPER = (value("source", "source"), value("paper GoogLeNet mAP", "paper_map"),
                difference("measured - paper", "map", "paper_map"))
READING = ("mAP in percent; 'measured - paper' in percentage points (pp) against the paper's GoogLeNet "
           "with as many models: Table 4's 6-model ensemble (43.90%) for a multi-model row, Table 5's "
           "single model (38.02%) for a 1-model row.")


def _source_notes(number: int) -> list[str]:
    notes = [f"Paper rows: {paper.CITATION}, Table {number} (ILSVRC 2014 DET test set)."]
    if number == 5:
        notes.append(f"Note: {paper.PROTOCOL_NOTES['detection-single-model']}.")
    return notes


def _paper_and_measured(ctx: ReportContext, run: RunInputs, number: int) -> list[Block]:
    """Table ``number`` (4 or 5): the paper's rows and, when measured, ours beside the paper's."""
    name, title = f"table{number}", TITLES[number]
    measured, artefact = run.tables.get(name), schema.get(f"table{number}")
    if measured is None:
        printed = schema.get(f"table{number}_paper")
        return [Paragraph(f"{title}: not measured in this run (no {artefact.file} in {run.root}; make "
                          f"it with `{artefact.command}`); the paper's rows are shown alone.", "absent"),
                csv_table(f"{name}_paper", f"{title} (paper)",
                          CsvCells(None, printed.file, paper_table(number), printed),
                          MARKDOWN_COLUMNS[number], notes=_source_notes(number))]
    ours = [i for i, source in enumerate(measured["source"]) if str(source).startswith("measured")]
    caveats = sorted({str(n) for n in measured["note"].iloc[ours] if isinstance(n, str) and n})
    data = sorted({f"{ctx.detection_data(r).name}: {ctx.detection_data(r).verdict}"
                   for r in run.det_evals})
    rows = ("Rows " if len(ours) > 1 else "Row ") + ", ".join(str(i + 1) for i in ours)
    notes = (_source_notes(number) + [f"{rows}: this run, as `repro detect tables` describes them: "
                                      f"{c}"
                                      for c in caveats] + [READING]
             + ([f"Detection data of this run: {d}." for d in data] or [
                 "No `repro det-eval` manifest in this run identifies the data of these rows."]))
    cells = CsvCells(run.label, artefact.file, measured, artefact)
    return [csv_table(name, f"{title}: the paper's rows and this run's, measured beside the paper's "
                      "GoogLeNet", cells, MARKDOWN_COLUMNS[number] + VERSUS_PAPER, notes=notes)]


def _proposals(run: RunInputs) -> list[Block]:
    frame = run.tables.get("table_proposals")
    if frame is None:
        return []
    artefact = schema.TABLE_PROPOSALS
    notes = [f"All rows, as `repro detect tables` describes them: {n}"
             for n in sorted({str(n) for n in frame["note"] if isinstance(n, str) and n})] + [
        "Coverage: share of ground-truth objects with a proposal at IoU >= 0.5. 'vs R-CNN': against "
        "R-CNN's selective search (fast). The paper's claims are beside ours."]
    return [csv_table("table_proposals", "Proposals — count, coverage and mAP effect (Section 8)",
                      CsvCells(run.label, artefact.file, frame, artefact), PROPOSAL_COLUMNS,
                      notes=notes)]


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
                            CsvCells(run.label, source, result.frame, schema.DET_EVAL), AP_COLUMNS,
                            rows, notes))
    return blocks


def section(ctx: ReportContext) -> Section:
    """Detection (Section 8): paper Tables 4-5, measured rows and per-class AP when present."""
    run = ctx.main
    blocks: list[Block] = (_paper_and_measured(ctx, run, 4) + _paper_and_measured(ctx, run, 5)
                           + _proposals(run))
    if not run.det_evals:
        blocks.append(Paragraph("Per-class AP: not measured in this run (no `repro det-eval` "
                                f"result, X.csv with X.csv.manifest.json, under {run.root}).",
                                "absent"))
    for result in run.det_evals:
        blocks += _per_class(ctx, run, result)
    return Section("detection", "Detection — Tables 4 and 5", tuple(blocks))
