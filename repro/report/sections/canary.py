"""A real network on real images: the accuracy canary of results/canary (EfficientNet-Lite0 through
the harness's real-data path) beside its published single-crop figures, with the caveat that 100 or
1,000 images are not the 50,000-image val set."""
from __future__ import annotations

from protocols.canary import CANARY
from protocols.canary_tables import MARKDOWN, not_measured
from repro import results_schema as schema
from repro.report.cells import CsvCells
from repro.report.context import ReportContext
from repro.report.document import Bullets, Paragraph, Section
from repro.report.tables import csv_table

TITLE = "A real network on real images"


def section(ctx: ReportContext) -> Section:
    """The canary's table and the published figures (absent, and why, without results/canary)."""
    run = ctx.main
    frame = run.tables.get(schema.CANARY.id)
    if frame is None or frame.empty:
        return Section("canary", TITLE, (Paragraph(
            f"Not measured in this run: no {schema.CANARY.file} under {run.root}, so no trained "
            f"network has been checked on real images here (make it with `nox -s canary`, which "
            f"ends with `{schema.CANARY.command}`).", "absent"),))
    published = [f"{p.source}: top-1 error {100 * p.top1_err:.2f}%"
                 + (f", top-5 error {100 * p.top5_err:.2f}%" if p.top5_err is not None else
                    " (no top-5 reported)") + f", on the {p.images:,} val images ({p.reference})"
                 for p in CANARY.published]
    sets = [f"{s.id}: {s.title}, {s.images:,} images of {s.classes} classes, labelled by {s.labels}; "
            f"{s.caveat}" for s in CANARY.image_sets]
    cells = CsvCells(run.label, schema.CANARY.file, frame, schema.CANARY)
    return Section("canary", TITLE, (
        Paragraph(f"{CANARY.model_title} through the same path as the GoogLeNets (`repro labels`, "
                  f"`repro evaluate --backend {CANARY.backend}`, the store's derived rows), on real "
                  f"ImageNet photographs: decoding, colour order, normalisation, crop geometry, label "
                  f"mapping and scoring checked together against a network's published accuracy."),
        Paragraph(CANARY.caveat, "warning"),
        csv_table("canary", "The canary: measured error beside the published single-crop figures",
                  cells, MARKDOWN, notes=[
                      "Brackets: exact (Clopper-Pearson) 95% intervals; p: exact two-sided McNemar "
                      "test against 1 crop on the same images; pass wall s: the set's one evaluation "
                      "pass (all its crop counts) on a shared machine.",
                      f"Written by `{schema.CANARY.command}`."]),
        Bullets(tuple(published)), Bullets(tuple(sets + not_measured(frame)))))
