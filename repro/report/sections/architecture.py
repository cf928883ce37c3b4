"""Table 1: the network counted from the code beside the paper's printed parameters and operations."""
from __future__ import annotations

from protocols import paper
from protocols.architecture import VARIANTS
from repro.models.specs import MODELS
from repro.report.cells import CsvCells, render
from repro.report.context import ReportContext
from repro.report.document import Paragraph, Section
from repro.report.tables import csv_table, value
from repro.results_schema import get

COLUMNS = (
    value("layer", "layer"), value("output", "output"),
    value("params", "params"), value("paper params", "paper_params"),
    value("params diff", "params_diff"), value("params diff %", "params_diff_rel"),
    value("multiply-adds", "macs"), value("paper ops", "paper_ops"),
    value("ops diff", "macs_diff"), value("paper inconsistent", "inconsistent"), value("note", "note"),
)
TABLES = (("table1", "paper"), ("table1_gluoncv", "gluoncv"))


def section(ctx: ReportContext) -> Section:
    """Table 1 for every variant counted in the main run (paper; GluonCV when present)."""
    run = ctx.main
    blocks = []
    for name, variant in TABLES:
        frame, artefact = run.tables.get(name), get(name)
        if frame is None:
            if variant == "paper":
                blocks.append(Paragraph(f"Not measured in this run: no {artefact.file} in {run.root} "
                                        f"(make it with `{artefact.command}`).", "absent"))
            continue
        spec = MODELS.get(VARIANTS[variant])
        total_params, total_macs = int(frame["params"].sum()), int(frame["macs"].sum())
        notes = [f"Total (main branch, weights + biases): {render(total_params, 'int')} parameters, "
                 f"{render(total_macs, 'int')} multiply-adds per 224x224 image. The paper's text "
                 f"says about {paper.TOTAL_MACS_STATED / 1e9:g} G multiply-adds; its own widths give "
                 f"{render(paper.TOTAL_PARAMS_COMPUTED, 'int')} parameters.",
                 "Differences are counted minus printed. 'paper inconsistent' marks rows whose printed "
                 "values disagree with the paper's own layer widths (see the note)."]
        notes += [f"Deviation of {spec.id} from the paper: {d}." for d in spec.deviations]
        blocks.append(csv_table(
            name, f"Table 1 — {spec.id}: {spec.description}",
            CsvCells(run.label, artefact.file, frame, artefact), COLUMNS, notes=notes))
    return Section("table1", "Table 1 — architecture", tuple(blocks))
