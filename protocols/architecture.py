"""Table 1 reproduced from the code: the counted network beside the paper's printed values; registered as
table ``1`` (`repro table 1`, `repro arch`)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from protocols import paper
from repro import results_schema
from repro.atomic import write_text
from repro.errors import ReproError
from repro.report.cells import render
from repro.report.tables import artefact_markdown, value
from repro.tables import TABLES, TableOutput, TableWriter

VARIANTS = {"paper": "googlenet-paper", "gluoncv": "googlenet-gluoncv"}
ARTEFACTS = {"paper": results_schema.TABLE1, "gluoncv": results_schema.TABLE1_GLUONCV}
COLUMNS = results_schema.TABLE1.names
MARKDOWN_COLUMNS = (
    value("layer", "layer"), value("output", "output"), value("params", "params", "si"),
    value("paper params", "paper_params", "si"), value("params diff", "params_diff"),
    value("params diff %", "params_diff_rel"), value("MACs", "macs", "si"),
    value("paper ops", "paper_ops", "si"), value("ops diff", "macs_diff", "si"),
    value("paper inconsistent", "inconsistent"), value("note", "note"),
)


def table1(model_id: str, input_size: int = 224) -> pd.DataFrame:
    """One row per Table 1 row (softmax excluded): counted output/params/MACs beside the paper's.

    ``params_diff``/``macs_diff`` are counted minus printed, ``params_diff_rel`` the difference over
    the printed value; ``inconsistent`` marks the rows where the paper's printed numbers disagree
    with its own widths (``protocols.paper.TABLE1_INCONSISTENT``).
    """
    import mxnet as mx

    from repro.errors import ReproError
    from repro.models.counting import count_rows  # MXNet: imported when a table is made, not at registration
    from repro.models.specs import MODELS
    from repro.models.weights import initialize_random

    spec = MODELS.get(model_id)
    net = spec.create(classes=1000, width=1.0, aux=False)
    try:
        initialize_random(net, seed=0, input_size=input_size)
    except mx.MXNetError as exc:
        reason = str(exc).strip().splitlines()[-1].removeprefix("MXNetError: ")
        raise ReproError(f"--input-size {input_size} is too small for {model_id}: {reason}; pass a "
                         f"larger --input-size (Table 1 is at 224)") from exc
    counted = count_rows(net, spec.table1_rows, input_size)
    printed = [row for row in paper.TABLE1 if row.layer != "softmax"]
    if [c.layer for c in counted] != [p.layer for p in printed]:
        raise AssertionError(f"{model_id}: Table 1 row mapping does not follow the paper's rows")
    frame = pd.DataFrame({
        "layer": [c.layer for c in counted], "output": [c.output for c in counted],
        "params": [c.params for c in counted], "macs": [c.macs for c in counted],
        "paper_params": pd.array([p.params for p in printed], dtype="Int64"),
        "paper_ops": pd.array([p.ops for p in printed], dtype="Int64"),
        "paper_output": [p.output for p in printed],
    })
    frame["params_diff"] = frame["params"] - frame["paper_params"]
    frame["macs_diff"] = frame["macs"] - frame["paper_ops"]
    frame["params_diff_rel"] = (frame["params_diff"] / frame["paper_params"]).round(6)
    frame["inconsistent"] = frame["layer"].isin(paper.TABLE1_INCONSISTENT)
    frame["note"] = frame["layer"].map(paper.TABLE1_NOTES).fillna("")
    return frame[COLUMNS]


def totals(frame: pd.DataFrame) -> dict[str, int]:
    """Whole-network totals of a :func:`table1` frame."""
    return {"params": int(frame["params"].sum()), "macs": int(frame["macs"].sum())}


def to_markdown(frame: pd.DataFrame, model_id: str, variant: str = "paper") -> str:
    """Table 1 as Markdown: counted vs printed with differences, totals and the paper's notes."""
    from repro.models.specs import MODELS

    spec = MODELS.get(model_id)
    total = totals(frame)
    lines = [f"# Table 1 — {spec.id}", "", spec.description + ".", "",
             artefact_markdown(ARTEFACTS[variant], frame, MARKDOWN_COLUMNS), "",
             f"Total (main branch, weights + biases): **{render(total['params'], 'int')} parameters**, "
             f"**{total['macs'] / 1e9:.3f} G multiply-adds** per 224x224 image "
             f"(paper text: about 1.5 G; its widths give {render(paper.TOTAL_PARAMS_COMPUTED, 'int')} "
             f"parameters and ~1.58 G).", "",
             "Counted by walking the Gluon graph (forward hooks on every Conv2D/Dense); paper values "
             f"from {paper.CITATION}, Table 1. Differences are counted minus printed. 'paper "
             "inconsistent' marks rows whose printed values disagree with the paper's own layer widths."]
    if spec.deviations:
        lines += ["", "Deviations of this model from the paper:", ""]
        lines += [f"- {d}" for d in spec.deviations]
    return "\n".join(lines) + "\n"


def _summary(frame: pd.DataFrame, model_id: str, input_size: int) -> str:
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 40):
        lines = [frame.drop(columns=["note"]).to_string(index=False)]
    total = totals(frame)
    lines.append(f"\n{model_id}: {total['params']:,} parameters, {total['macs'] / 1e9:.3f} G multiply-adds "
                 f"at {input_size}x{input_size}")
    lines += [f"note ({layer}): {note}" for layer, note in zip(frame["layer"], frame["note"]) if note]
    return "\n".join(lines)


def write_table1(variant: str = "paper", input_size: int = 224, out: Path | None = None,
                 csv: Path | None = None, markdown: Path | None = None) -> TableOutput:
    """Table 1 of ``variant`` (a key of :data:`VARIANTS`): to ``csv`` / ``markdown``, or with ``out``
    to ``table1_architecture[_<variant>].csv`` and ``.md`` there; the summary is the counted table."""
    if variant not in VARIANTS:
        raise ReproError(f"--variant {variant!r}: choose one of {', '.join(VARIANTS)}")
    model_id = VARIANTS[variant]
    frame = table1(model_id, input_size)
    if out is not None:
        artefact = ARTEFACTS[variant]
        csv, markdown = csv or artefact.path(out), markdown or artefact.markdown_path(out)
    paths = []
    if csv:
        paths.append(results_schema.write_frame_at(ARTEFACTS[variant], frame, csv))
    if markdown:
        paths.append(write_text(markdown, to_markdown(frame, model_id, variant)))
    return TableOutput(tuple(paths), _summary(frame, model_id, input_size))


TABLES.register("1", TableWriter("1", "Table 1 counted from the Gluon graph", write_table1,
                                 ("variant", "input_size", "out", "csv", "markdown")))
