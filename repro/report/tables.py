"""Tables from CSV frames, declared column by column; every CSV number keeps its origin.

The report builds its tables with these, and so do the writers of results/ for the Markdown beside
their CSVs (:func:`artefact_markdown`): one way to make a table, one way to print its numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd

from repro import results_schema
from repro.report.cells import CsvCells, render
from repro.report.document import Cell, Table
from repro.report.markdown import grid


@dataclass(frozen=True)
class Column:
    """One column of a report table: its header and how a row's cell is made."""

    header: str
    make: Callable[[CsvCells, int], Cell]


def value(header: str, column: str, fmt: str | None = None) -> Column:
    """The CSV column ``column`` as is (``fmt`` None: the format of its unit in the schema)."""
    return Column(header, lambda cells, row: cells.value(row, column, fmt))


def difference(header: str, minuend: str, subtrahend: str, fmt: str | None = None) -> Column:
    """``minuend - subtrahend`` (``fmt`` None: pp for rates, signed for counts)."""
    return Column(header, lambda cells, row: cells.diff(row, minuend, subtrahend, fmt))


def interval(header: str, low: str, high: str, fmt: str | None = None) -> Column:
    """``[low, high]``."""
    return Column(header, lambda cells, row: cells.interval(row, low, high, fmt))


def text(header: str, make: Callable[[pd.Series], str]) -> Column:
    """A cell of words made from the row (not a number of the CSV)."""
    return Column(header, lambda cells, row: Cell(make(cells.frame.iloc[row])))


def csv_table(table_id: str, caption: str, cells: CsvCells, columns: Sequence[Column],
              rows: Sequence[int] | None = None, notes: Sequence[str] = ()) -> Table:
    """A table of ``rows`` (default: all) of ``cells``' CSV with ``columns``."""
    rows = range(len(cells.frame)) if rows is None else rows
    return Table(table_id, caption, tuple(c.header for c in columns),
                 tuple(make_row(columns, cells, r) for r in rows), tuple(notes))


def make_row(columns: Sequence[Column], cells: CsvCells, row: int) -> tuple[Cell, ...]:
    """The cells of one CSV row."""
    return tuple(c.make(cells, row) for c in columns)


def artefact_markdown(artefact: results_schema.Artefact | str, frame: pd.DataFrame,
                      columns: Sequence[Column], rows: Sequence[int] | None = None) -> str:
    """The Markdown grid of ``frame`` (``artefact``'s table) with ``columns``: what a writer of
    results/ puts in the Markdown file beside the CSV."""
    artefact = results_schema.get(artefact)
    cells = CsvCells(None, artefact.file, frame, artefact)
    return grid(csv_table(artefact.id, "", cells, columns, rows))


def guess_columns(frame: pd.DataFrame) -> list[Column]:
    """Columns of a CSV that is not a results artefact (a training log): integers, fractions, text."""
    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            fmt = "bool"
        elif pd.api.types.is_integer_dtype(series):
            fmt = "int"
        elif pd.api.types.is_float_dtype(series):
            is_rate = any(k in name.lower() for k in ("err", "map", "ap", "acc"))
            in_unit = series.dropna().between(0, 1).all()
            fmt = "pct" if is_rate and in_unit else "number"
        else:
            fmt = "text"
        columns.append(value(name, name, fmt))
    return columns


def frame_table(table_id: str, caption: str, frame: pd.DataFrame, columns: dict[str, tuple[str, str]],
                notes: Sequence[str] = ()) -> Table:
    """A table of values that are not in a CSV of the run (the paper's): column -> (header, format)."""
    rows = tuple(tuple(Cell(render(v, fmt), None, fmt) for v, (_, fmt) in zip(record, columns.values()))
                 for record in frame[list(columns)].itertuples(index=False))
    return Table(table_id, caption, tuple(h for h, _ in columns.values()), rows, tuple(notes))
