"""Throughput from the benchmark tables (results/bench/*.csv), when the run has them."""
from __future__ import annotations

import pandas as pd

from repro.report import figures_extra
from repro.report.cells import CsvCells
from repro.report.context import ReportContext
from repro.report.document import Block, Paragraph, Section
from repro.report.tables import csv_table, guess_columns

#: A column whose name holds one of these is a rate to plot (images per second and the like).
RATE_MARKERS = ("per_s", "throughput", "img_s", "images_s")


def _rate_and_label(frame: pd.DataFrame) -> tuple[str, str] | None:
    rates = [c for c in frame.columns if any(m in c.lower() for m in RATE_MARKERS)
             and pd.api.types.is_numeric_dtype(frame[c])]
    if not rates:
        return None
    labels = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return rates[0], (labels[0] if labels else frame.columns[0])


def section(ctx: ReportContext) -> Section:
    """Throughput: each benchmark table, and a bar chart of its rate column when it has one."""
    run = ctx.main
    if not run.bench:
        return Section("throughput", "Throughput", (Paragraph(
            f"Not measured in this run: no benchmark tables in {run.root / 'bench'}.", "absent"),))
    blocks: list[Block] = []
    for path, frame in run.bench:
        source = run.rel(path)
        found = _rate_and_label(frame)
        if found:
            rate, label = found
            stem = ctx.figure_stem(run, f"fig_throughput_{path.stem}")
            figures_extra.throughput(frame, label, rate, stem)
            blocks.append(ctx.figure(f"fig_throughput_{path.stem}", f"{rate} per {label} ({source}).",
                                     stem.with_suffix(".png")))
        blocks.append(csv_table(f"bench_{path.stem}", f"Benchmark — {source}",
                                CsvCells(run.label, source, frame), guess_columns(frame)))
    return Section("throughput", "Throughput", tuple(blocks))
