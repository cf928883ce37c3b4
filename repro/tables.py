"""Result tables as registered writers, so the commands reach the paper's tables without importing them.

A :class:`TableWriter` writes one family of artefacts into ``results/`` (Table 1 counted from a
network, Tables 2-3 measured from a store, Tables 4-5 from a detection run, or the paper's printed
values) and returns the files it wrote with a summary to print. The protocol layer registers the
paper's tables in :data:`TABLES`; `repro table`, `repro arch` and `repro detect tables` call
:func:`write_table` by id.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from repro.errors import ReproError
from repro.registry import Registry


@dataclass(frozen=True)
class TableOutput:
    """What a writer wrote, and the lines a command prints about it."""

    paths: tuple[Path, ...]
    summary: str = ""


@dataclass(frozen=True)
class TableWriter:
    """``write(**options) -> TableOutput``; ``options`` names every keyword it accepts."""

    id: str
    description: str
    write: Callable[..., TableOutput]
    options: tuple[str, ...]


TABLES: Registry[TableWriter] = Registry("table")


def write_table(table_id: str, **options) -> TableOutput:
    """Run the writer registered as ``table_id`` with the ``options`` that are set (not None).

    An option the writer does not take is an error naming it as its command-line flag.
    """
    writer = TABLES.get(table_id)
    given = {name: value for name, value in options.items() if value is not None}
    unknown = sorted(set(given) - set(writer.options))
    if unknown:
        flags = ", ".join("--" + name.replace("_", "-") for name in unknown)
        raise ReproError(f"table {table_id} ({writer.description}) does not take {flags}")
    return writer.write(**given)
