"""Numbers into printed text, in one place: every table the project writes (the report, the Markdown
beside each results CSV, the benchmark summary) prints its numbers with :data:`FORMATS`.

The conventions: rates are stored as fractions (``top5_err`` 0.0667) and printed as percentages,
"6.67%"; differences of rates are printed in percentage points, "+1.23 pp"; a relative difference
prints as a signed percentage, "+2.6%"; a missing value (NaN, empty) prints as an em dash. Which
format a column takes follows from its unit in the results schema (:mod:`repro.results_schema`).
"""
from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from repro import results_schema
from repro.report.document import Cell, Origin

MISSING = "\u2014"


def _number(value: object) -> str:
    """4 significant digits; whole numbers of 10,000 and more with separators, never an exponent."""
    v = float(value)
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"


def _si(value: object) -> str:
    """3 significant digits with K/M/G, as the paper's Table 1 prints (2.7K, 34M)."""
    v = int(float(value))
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return str(v)


FORMATS: dict[str, Callable[[object], str]] = {
    "pct": lambda v: f"{100 * float(v):.2f}%",  # a fraction, as a percentage
    "pp": lambda v: f"{100 * float(v):+.2f} pp",  # a difference of fractions, percentage points
    "pct_signed": lambda v: f"{100 * float(v):+.1f}%",  # a relative difference (a fraction)
    "times": lambda v: f"{float(v):.2f}x",
    "int": lambda v: f"{int(float(v)):,}",
    "int_signed": lambda v: f"{int(float(v)):+,}",
    "si": _si,
    "p": lambda v: f"{float(v):.3g}",
    "number": _number,
    "bool": lambda v: "yes" if str(v).lower() in ("true", "1") else "",
    "text": str,
}
#: The format of a difference of two values of a format (a difference of rates is in pp).
DIFFERENCE_FORMATS = {"pct": "pp", "pp": "pp", "int": "int_signed", "int_signed": "int_signed"}


def is_missing(value: object) -> bool:
    """True for None, NaN, pandas' NA and empty strings."""
    if value is None or (isinstance(value, str) and value == ""):
        return True
    return isinstance(value, float) and math.isnan(value) or value is pd.NA


def render(value: object, fmt: str) -> str:
    """``value`` printed with format ``fmt`` (a key of :data:`FORMATS`)."""
    return MISSING if is_missing(value) else FORMATS[fmt](value)


class CsvCells:
    """Cells of one CSV table of one run, each carrying its origin.

    With the table's results-schema artefact, a cell's format defaults to its column's unit. With
    ``run`` None the values are not a run's (the paper's printed table): cells carry no origin.
    """

    def __init__(self, run: str | None, source: str, frame: pd.DataFrame,
                 artefact: results_schema.Artefact | str | None = None):
        self.run, self.source, self.frame = run, source, frame.reset_index(drop=True)
        self.artefact = results_schema.get(artefact) if artefact is not None else None

    def get(self, row: int, column: str) -> object:
        """The raw value (NaN for missing)."""
        return self.frame.at[row, column]

    def fmt(self, column: str, fmt: str | None = None) -> str:
        """``fmt``, or the format of ``column``'s unit (text without a schema artefact)."""
        if fmt is not None:
            return fmt
        return self.artefact.fmt(column) if self.artefact is not None else "text"

    def _cell(self, text: str, row: int, columns: tuple[str, ...], op: str, fmt: str) -> Cell:
        if self.run is None:
            return Cell(text, None, fmt)
        return Cell(text, Origin(self.run, self.source, row, columns, op, fmt))

    def value(self, row: int, column: str, fmt: str | None = None) -> Cell:
        """The value of ``column`` in ``row``."""
        fmt = self.fmt(column, fmt)
        return self._cell(render(self.get(row, column), fmt), row, (column,), "value", fmt)

    def diff(self, row: int, minuend: str, subtrahend: str, fmt: str | None = None) -> Cell:
        """``minuend - subtrahend`` of one row (missing if either is missing)."""
        fmt = fmt or DIFFERENCE_FORMATS[self.fmt(minuend)]
        a, b = self.get(row, minuend), self.get(row, subtrahend)
        value = None if is_missing(a) or is_missing(b) else float(a) - float(b)
        return self._cell(render(value, fmt), row, (minuend, subtrahend), "diff", fmt)

    def interval(self, row: int, low: str, high: str, fmt: str | None = None) -> Cell:
        """``[low, high]`` of one row."""
        fmt = self.fmt(low, fmt)
        text = f"[{render(self.get(row, low), fmt)}, {render(self.get(row, high), fmt)}]"
        return self._cell(text, row, (low, high), "interval", fmt)
