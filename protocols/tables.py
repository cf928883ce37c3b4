"""The paper's result tables (2-5) as printed, rendered for results/ with their provenance and notes;
registered as tables ``4`` and ``5`` (2 and 3 also take measured rows, :mod:`protocols.classification`)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from protocols import paper
from repro.atomic import write_text
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


def paper_table(number: int) -> pd.DataFrame:
    """The paper's Table ``number`` (2-5) as printed."""
    frames = {2: paper.TABLE2, 3: paper.TABLE3, 4: paper.TABLE4, 5: paper.TABLE5}
    if number not in frames:
        raise ValueError(f"the paper's result tables are 2-5, not {number}")
    return frames[number].copy()


def paper_table_markdown(number: int) -> str:
    """Markdown of the paper's Table ``number`` with its source and notes."""
    lines = [f"# {TITLES[number]} (paper values)", "", paper_table(number).to_markdown(index=False),
             "", f"Source: {paper.CITATION}. Values as printed in the paper; measured values are "
             "added by the classification and detection sessions."]
    lines += [f"- Note: {note}" for note in NOTES[number]]
    return "\n".join(lines) + "\n"

FILE_STEMS = {2: "table2_classification_ilsvrc", 3: "table3_classification", 4: "table4_detection",
              5: "table5_detection_single"}


def write_paper_table(number: int, out: Path) -> TableOutput:
    """The paper's Table ``number`` as ``<stem>_paper.csv`` and ``.md`` in ``out``."""
    stem = Path(out) / f"{FILE_STEMS[number]}_paper"
    paths = (write_text(stem.with_suffix(".csv"), paper_table(number).to_csv(index=False)),
             write_text(stem.with_suffix(".md"), paper_table_markdown(number)))
    return TableOutput(paths, f"wrote {stem}.csv and .md")


for _number in (4, 5):
    TABLES.register(str(_number), TableWriter(
        str(_number), f"Table {_number}: the paper's values (measured rows: `repro detect tables`)",
        lambda out, _n=_number: write_paper_table(_n, out), ("out",)))
