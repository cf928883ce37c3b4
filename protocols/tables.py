"""The paper's result tables (2-5) as printed, in the results schema's form (rates as fractions), for
results/ with their provenance and notes; registered as tables ``4`` and ``5`` (2 and 3 also take
measured rows, :mod:`protocols.classification`).

:mod:`protocols.paper` keeps the transcription exactly as printed (percentages, ``*_pct``); the one
conversion to fractions is :func:`paper_table`, which everything else (CSVs, Markdown, the report,
the measured tables' paper columns) reads.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from protocols import paper
from repro import results_schema
from repro.atomic import write_text
from repro.report.tables import Column, artefact_markdown, value
from repro.tables import TABLES, TableOutput, TableWriter

TITLES = {
    2: "Table 2 — ILSVRC classification results (top-5 error)",
    3: "Table 3 — GoogLeNet classification on the validation set (cost = models x crops)",
    4: "Table 4 — ILSVRC 2014 detection results",
    5: "Table 5 — single-model detection",
}
NOTES = {
    2: [],
    3: [paper.PROTOCOL_NOTES["10-crop"], paper.PROTOCOL_NOTES["top-1"],
        paper.PROTOCOL_NOTES["ensemble-init"]],
    4: [],
    5: [paper.PROTOCOL_NOTES["detection-single-model"]],
}
ARTEFACTS = {2: results_schema.TABLE2_PAPER, 3: results_schema.TABLE3_PAPER,
             4: results_schema.TABLE4_PAPER, 5: results_schema.TABLE5_PAPER}
#: Printed percentages (column -> its fraction column); at most 2 decimals printed, so 4 as fractions.
PERCENT_COLUMNS = {"top5_err_pct": "top5_err", "vs_base_pct": "vs_base", "map_pct": "map"}
#: The Markdown columns of each paper table, and of the measured tables that hold its rows.
MARKDOWN_COLUMNS: dict[int, tuple[Column, ...]] = {
    2: (value("team", "team"), value("year", "year"), value("place", "place"),
        value("top-5 error", "top5_err"), value("external data", "external_data")),
    3: (value("models", "models"), value("crops", "crops"), value("cost", "cost"),
        value("top-5 error", "top5_err"), value("vs base", "vs_base")),
    4: (value("team", "team"), value("year", "year"), value("place", "place"), value("mAP", "map"),
        value("external data", "external_data"), value("ensemble", "ensemble"),
        value("approach", "approach")),
    5: (value("team", "team"), value("mAP", "map"), value("contextual model", "contextual_model"),
        value("bounding box regression", "bounding_box_regression")),
}


def paper_table(number: int) -> pd.DataFrame:
    """The paper's Table ``number`` (2-5): the printed rows, rates as fractions."""
    frames = {2: paper.TABLE2, 3: paper.TABLE3, 4: paper.TABLE4, 5: paper.TABLE5}
    if number not in frames:
        raise ValueError(f"the paper's result tables are 2-5, not {number}")
    frame = frames[number].copy()
    for printed, fraction in PERCENT_COLUMNS.items():
        if printed in frame:
            frame[printed] = (frame[printed] / 100).round(4)
    return frame.rename(columns=PERCENT_COLUMNS)


def googlenet_map(models: int) -> float:
    """The paper's GoogLeNet detection mAP (a fraction) with ``models`` models: Table 4's 6-model
    ensemble for more than one, Table 5's single model for one."""
    table = paper_table(4 if models > 1 else 5)
    return float(table.loc[table["team"] == "GoogLeNet", "map"].iloc[0])


def paper_table_markdown(number: int) -> str:
    """Markdown of the paper's Table ``number`` with its source and notes."""
    lines = [f"# {TITLES[number]} (paper values)", "",
             artefact_markdown(ARTEFACTS[number], paper_table(number), MARKDOWN_COLUMNS[number]),
             "", f"Source: {paper.CITATION}. Values as printed in the paper; measured values are "
             "added by the classification and detection sessions."]
    lines += [f"- Note: {note}" for note in NOTES[number]]
    return "\n".join(lines) + "\n"


def write_paper_table(number: int, out: Path) -> TableOutput:
    """The paper's Table ``number`` as its ``_paper`` CSV and Markdown in ``out``."""
    artefact = ARTEFACTS[number]
    paths = (results_schema.write_frame(artefact, paper_table(number), out),
             write_text(artefact.markdown_path(out), paper_table_markdown(number)))
    return TableOutput(paths, f"wrote {paths[0]} and {paths[1].name}")


for _number in (4, 5):
    TABLES.register(str(_number), TableWriter(
        str(_number), f"Table {_number}: the paper's values (measured rows: `repro detect tables`)",
        lambda out, _n=_number: write_paper_table(_n, out), ("out",)))
