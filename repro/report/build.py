"""Build the report: read the runs' results directories, make the sections, write HTML and Markdown.

Output directory layout::

    OUT/report.html                   self-contained page (figures embedded, no network needed)
    OUT/report.md                     the same content as Markdown (figures linked)
    OUT/figures/<n>-<run>/<stem>.png  every figure as PNG and SVG with the CSV behind it

Nothing is computed by a network: numbers come from the CSV tables, stores and manifests. The same
inputs give the same bytes (no build time is printed; times come from the manifests).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from protocols import paper
from repro.atomic import write_text
from repro.errors import ReproError
from repro.report.context import ReportContext
from repro.report.data_identity import DataRoot
from repro.report.document import Report
from repro.report.html import to_html
from repro.report.inputs import load_run
from repro.report.markdown import to_markdown
from repro.report.sections import BUILDERS


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`build_report` wrote."""

    html: Path
    markdown: Path
    report: Report


def run_labels(directories: Sequence[Path], labels: Sequence[str]) -> list[str]:
    """One unique label per results directory: the given labels, else the directory names."""
    if len(labels) > len(directories):
        raise ReproError(f"{len(labels)} --label values for {len(directories)} runs; give at most "
                         f"one per run, in the order --results, --compare ...")
    names = list(labels) + [Path(d).resolve().name for d in directories[len(labels):]]
    return [name if names.count(name) == 1 else f"{name} #{i + 1}" for i, name in enumerate(names)]


def build_report(results: str | Path, out: str | Path, compare: Sequence[str | Path] = (),
                 labels: Sequence[str] = (), data_roots: Sequence[str | Path] = (),
                 inputs: Sequence[str | Path] = ()) -> ReportFiles:
    """Write ``out``/report.html and report.md for ``results`` (and the ``compare`` runs).

    ``inputs``: more directories holding the main run's stores, det-eval results and training logs.
    """
    directories = [Path(results), *map(Path, compare)]
    runs = [load_run(d, label, tuple(inputs) if i == 0 else ())
            for i, (d, label) in enumerate(zip(directories, run_labels(directories, labels)))]
    out = Path(out)
    ctx = ReportContext(runs, [DataRoot(d) for d in data_roots], out)
    sections = tuple(s for s in (build(ctx) for build in BUILDERS) if s is not None)
    title = "GoogLeNet reproduction report — " + " vs ".join(r.label for r in runs)
    lead = (f"{paper.CITATION}, reproduced: every measured value beside the paper's, with the "
            "difference, its confidence interval and the deviations that affect it. Built from the "
            "CSV tables, probability stores and manifests in "
            + ", ".join(str(d) for d in directories) + "; no network was run to build it.")
    report = Report(title, lead, sections)
    html = write_text(out / "report.html", to_html(report))
    markdown = write_text(out / "report.md", to_markdown(report))
    return ReportFiles(html, markdown, report)
