"""Numbers from a CSV into table cells: one formatting rule per kind of number, origin attached.

Rates are stored as fractions (``top5_err`` 0.0667) and printed as percent; differences of rates are
printed in percentage points ("pp"). A missing value (NaN, empty) prints as an em dash.
"""
from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from repro.report.document import Cell, Origin

MISSING = "\u2014"

FORMATS: dict[str, Callable[[object], str]] = {
    "pct": lambda v: f"{100 * float(v):.2f}%",  # a fraction, as percent
    "pp": lambda v: f"{100 * float(v):+.2f} pp",  # a difference of fractions, percentage points
    "pct_value": lambda v: f"{float(v):.2f}%",  # a value already in percent
    "pct_signed": lambda v: f"{float(v):+.1f}%",  # a relative difference already in percent
    "int": lambda v: f"{int(v):,}",
    "int_signed": lambda v: f"{int(v):+,}",
    "p": lambda v: f"{float(v):.3g}",
    "number": lambda v: f"{float(v):.4g}",
    "bool": lambda v: "yes" if str(v).lower() in ("true", "1") else "",
    "text": str,
}


def is_missing(value: object) -> bool:
    """True for None, NaN and empty strings."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def render(value: object, fmt: str) -> str:
    """``value`` printed with format ``fmt`` (a key of :data:`FORMATS`)."""
    return MISSING if is_missing(value) else FORMATS[fmt](value)


class CsvCells:
    """Cells of one CSV table of one run, each carrying its origin."""

    def __init__(self, run: str, source: str, frame: pd.DataFrame):
        self.run, self.source, self.frame = run, source, frame.reset_index(drop=True)

    def get(self, row: int, column: str) -> object:
        """The raw value (NaN for missing)."""
        return self.frame.at[row, column]

    def _origin(self, row: int, columns: tuple[str, ...], op: str, fmt: str) -> Origin:
        return Origin(self.run, self.source, row, columns, op, fmt)

    def value(self, row: int, column: str, fmt: str = "text") -> Cell:
        """The value of ``column`` in ``row``."""
        return Cell(render(self.get(row, column), fmt), self._origin(row, (column,), "value", fmt))

    def diff(self, row: int, minuend: str, subtrahend: str, fmt: str = "pp") -> Cell:
        """``minuend - subtrahend`` of one row (missing if either is missing)."""
        a, b = self.get(row, minuend), self.get(row, subtrahend)
        value = None if is_missing(a) or is_missing(b) else float(a) - float(b)
        return Cell(render(value, fmt), self._origin(row, (minuend, subtrahend), "diff", fmt))

    def interval(self, row: int, low: str, high: str, fmt: str = "pct") -> Cell:
        """``[low, high]`` of one row."""
        text = f"[{render(self.get(row, low), fmt)}, {render(self.get(row, high), fmt)}]"
        return Cell(text, self._origin(row, (low, high), "interval", fmt))
