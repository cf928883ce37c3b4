"""Read this first: what the numbers were measured on, with which models and weights, and the headline."""
from __future__ import annotations

from repro.report.cells import CsvCells
from repro.report.context import ReportContext
from repro.report.deviations import model_variant, row_tags, weights_source
from repro.report.document import Block, Bullets, Paragraph, Section
from repro.report.inputs import RunInputs
from repro.report.tables import csv_table, difference, interval, text, value
from repro.results_schema import TABLE3

PRESENCE = (
    ("Table 1 (architecture)", lambda r: "table1" in r.tables),
    ("Tables 2-3 (classification)", lambda r: "table3" in r.tables),
    ("Table 4 (detection, measured rows)", lambda r: "table4" in r.tables),
    ("Table 5 (single-model detection, measured rows)", lambda r: "table5" in r.tables),
    ("per-class detection AP", lambda r: bool(r.det_evals)),
    ("training curves", lambda r: bool(r.training)),
    ("throughput (benchmark)", lambda r: r.bench is not None),
    ("accuracy canary (a real network on real images)", lambda r: "canary" in r.tables),
)


def _data_lines(ctx: ReportContext, run: RunInputs) -> list[Block]:
    blocks: list[Block] = []
    facts = ctx.classification(run)
    if facts is not None:
        kind = "text" if facts.data.comparable else "warning"
        blocks.append(Paragraph(f"{run.label} — classification measured on {facts.data.name}: "
                                f"{facts.data.verdict}.", kind))
    for result in run.det_evals:
        data = ctx.detection_data(result)
        blocks.append(Paragraph(f"{run.label} — detection ({run.rel(result.csv)}) measured on "
                                f"{data.name}: {data.verdict}.",
                                "text" if data.comparable else "warning"))
    return blocks


def _models(ctx: ReportContext, run: RunInputs) -> Bullets | None:
    facts = ctx.classification(run)
    if facts is None or facts.members is None:
        return None
    return Bullets(tuple(f"{m.key}: {model_variant(m.spec, m.manifest)}; weights: "
                         f"{weights_source(m.spec)}" for m in facts.members))


def _glance(ctx: ReportContext, run: RunInputs) -> Block:
    frame = run.tables["table3"]
    deviations = list(ctx.classification(run).deviations)
    rows = sorted({0, len(frame) - 1})
    return csv_table("glance", "At a glance — the base row and the largest ensemble x crops row of "
                     "Table 3", CsvCells(run.label, TABLE3.file, frame, TABLE3), [
                         value("models", "models"), value("crops", "crops"),
                         value("measured top-5", "top5_err"),
                         interval("95% CI", "top5_ci_low", "top5_ci_high"),
                         value("paper models", "paper_models"),
                         value("paper top-5", "paper_top5_err"),
                         difference("measured - paper", "top5_err", "paper_top5_err"),
                         text("deviations (see Table 3)",
                              lambda r: row_tags(deviations, int(r["models"]), int(r["crops"])))],
                     rows)


def section(ctx: ReportContext) -> Section:
    """The first section: data verdicts, models and weights, the headline numbers, what is present."""
    blocks: list[Block] = []
    for run in ctx.runs:
        blocks += _data_lines(ctx, run)
    run = ctx.main
    models = _models(ctx, run)
    if models is not None:
        blocks += [Paragraph(f"Models and weights behind {run.label}'s classification numbers:"),
                   models]
    if ctx.classification(run) is not None:
        blocks.append(_glance(ctx, run))
    blocks.append(Bullets(tuple(f"{name}: {'measured' if present(run) else 'not measured in this run'}"
                                for name, present in PRESENCE)))
    return Section("summary", "Read this first", tuple(blocks))
