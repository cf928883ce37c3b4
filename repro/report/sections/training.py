"""Training curves of the ensemble members and their last logged epoch."""
from __future__ import annotations

from repro.report import figures_extra
from repro.report.cells import CsvCells
from repro.report.context import ReportContext
from repro.report.document import Bullets, Cell, Paragraph, Section, Table
from repro.report.inputs import TRAIN_LOG
from repro.report.tables import guess_columns, make_row

HYPERPARAMETERS = ("The paper gives no base learning rate, batch size, weight decay or epoch count; "
                   "the values used are this project's own.")


def _scalars(manifest: dict) -> str:
    facts = [f"{k}: {v}" for k, v in sorted(manifest.items()) if isinstance(v, (str, int, float))]
    return "; ".join(facts) or "no manifest beside the log"


def section(ctx: ReportContext) -> Section:
    """Training: loss and validation curves per member, the last epoch of each, their manifests."""
    run = ctx.main
    if not run.training:
        return Section("training", "Training", (Paragraph(
            f"Not measured in this run: no {TRAIN_LOG} under {run.root} (the members were not trained "
            "by this run, or their logs are kept elsewhere).", "absent"),))
    members = {run.rel(log.csv.parent): log for log in run.training}
    stem = ctx.figure_stem(run, "fig_training_curves")
    figures_extra.training_curves({name: log.frame for name, log in members.items()}, stem)
    shared = set.intersection(*(set(log.frame.columns) for log in members.values()))
    first = run.training[0].frame
    columns = guess_columns(first[[c for c in first.columns if c in shared]])
    rows = tuple((Cell(name),) + make_row(columns, CsvCells(run.label, run.rel(log.csv), log.frame),
                                          len(log.frame) - 1) for name, log in members.items())
    return Section("training", "Training", (
        ctx.figure("fig_training_curves", "Training loss and validation metrics per epoch, one line "
                   "per member.", stem.with_suffix(".png")),
        Table("training_last", "Last logged epoch of each member",
              ("member",) + tuple(c.header for c in columns), rows, (HYPERPARAMETERS,)),
        Bullets(tuple(f"{name}: {_scalars(log.manifest)}" for name, log in members.items())),
    ))
