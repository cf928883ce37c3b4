"""The report as data: sections of paragraphs, lists, tables and figures, rendered to HTML and Markdown.

Both renderers walk the same :class:`Report`, so the page and the Markdown hold the same tables. A
table cell that shows a number read from a CSV carries its :class:`Origin` (file, row, columns, how
it was derived, how it was formatted); the HTML exposes it as ``data-*`` attributes so a reader's
tool (or a test) can check every printed number against its CSV.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class Origin:
    """Where a printed number comes from: ``op`` of ``columns`` in data row ``row`` of ``source``."""

    run: str  # label of the run whose results directory holds ``source``
    source: str  # CSV path relative to that results directory
    row: int  # 0-based data row
    columns: tuple[str, ...]
    op: str = "value"  # "value": columns[0]; "diff": columns[0] - columns[1]; "interval": [c0, c1]
    fmt: str = "text"  # a key of repro.report.cells.FORMATS


@dataclass(frozen=True)
class Cell:
    """One table cell: the text shown and, for numbers from a CSV, their origin; ``fmt`` is how a
    number not read from a run's CSV (the paper's) was formatted."""

    text: str
    origin: Origin | None = None
    fmt: str = "text"

    @property
    def numeric(self) -> bool:
        """A number (aligned right), not words."""
        return (self.origin.fmt if self.origin is not None else self.fmt) not in ("text", "bool")


@dataclass(frozen=True)
class Table:
    """A table with a caption and the notes printed right under it."""

    id: str
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A plot written as PNG (embedded in the page), SVG and the CSV behind it, side by side."""

    id: str
    caption: str
    png: Path  # absolute path of the PNG in the report's figures directory
    files: tuple[str, ...]  # the figure's files relative to the report directory (png, svg, csv)


@dataclass(frozen=True)
class Paragraph:
    """Running text; ``kind`` "warning" is set off (synthetic data), "absent" marks a missing part."""

    text: str
    kind: str = "text"


@dataclass(frozen=True)
class Bullets:
    """A list of short items."""

    items: tuple[str, ...]


Block = Union[Paragraph, Bullets, Table, Figure]


@dataclass(frozen=True)
class Section:
    """A titled part of the report."""

    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Report:
    """The whole report: a title, a lead paragraph and its sections, in reading order."""

    title: str
    lead: str
    sections: tuple[Section, ...]

    def tables(self) -> list[Table]:
        """Every table, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
