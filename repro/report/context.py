"""What every section builder gets: the runs, what their data is, their deviations, where figures go."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from repro.atomic import write_bytes
from repro.report.data_identity import DataIdentity, DataRoot, identify_detection, identify_store
from repro.report.deviations import Deviation, classification_deviations
from repro.report.document import Figure
from repro.report.inputs import DetEvalInfo, RunInputs, StoreInfo

FIGURE_FORMATS = (".png", ".svg", ".csv")


@dataclass(frozen=True)
class Classification:
    """A run's measured Table 3 and what it was measured with."""

    members: tuple[StoreInfo, ...] | None  # None when the stores are not under the results directory
    data: DataIdentity
    deviations: tuple[Deviation, ...]
    rule: str


class ReportContext:
    """The runs being reported (the first is the main one) and the report's output directory."""

    def __init__(self, runs: list[RunInputs], data_roots: list[DataRoot], out: Path):
        self.runs, self.data_roots, self.out = runs, data_roots, Path(out)
        self._classified = {run: self._classify(run) for run in runs}

    @property
    def main(self) -> RunInputs:
        """The run given with --results."""
        return self.runs[0]

    def slug(self, run: RunInputs) -> str:
        """A file-name-safe name of a run, unique among the runs."""
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", run.label).strip("-") or "run"
        return f"{self.runs.index(run) + 1}-{base}"

    def classification(self, run: RunInputs) -> Classification | None:
        """The run's measured classification facts (None without a measured Table 3)."""
        return self._classified[run]

    def _classify(self, run: RunInputs) -> Classification | None:
        table3 = run.tables.get("table3")
        if table3 is None or table3.empty:
            return None
        keys = str(table3["members"].iloc[-1]).split(", ")
        rule = str(table3["combine"].iloc[0])
        members = run.stores_for(keys)
        if members is None:
            data = DataIdentity("unidentified data (the stores of this table are not under the "
                                "results directory)", "unidentified", False,
                                f"none of the stores {', '.join(keys)} found under {run.root}")
        else:
            data = self.store_data(members[0].root)
        deviations = classification_deviations(keys, members, data, rule)
        return Classification(None if members is None else tuple(members), data, tuple(deviations),
                              rule)

    def store_data(self, store_root: Path) -> DataIdentity:
        """What the stores under ``store_root`` (sharing its index.csv) were evaluated on."""
        return identify_store(self.data_roots, store_root)

    def detection_data(self, result: DetEvalInfo) -> DataIdentity:
        """What a det-eval result was measured on."""
        return identify_detection(self.data_roots, result.manifest)

    # -- figures ---------------------------------------------------------------------------------

    def figure_stem(self, run: RunInputs, name: str) -> Path:
        """Where the report draws its own figure ``name`` for ``run`` (no suffix)."""
        return self.out / "figures" / self.slug(run) / name

    def copy_figure(self, run: RunInputs, png: Path) -> Path:
        """Copy a results figure (PNG, SVG, CSV as present) into the report; returns the new PNG."""
        stem = self.figure_stem(run, png.stem)
        for suffix in FIGURE_FORMATS:
            if png.with_suffix(suffix).is_file():
                write_bytes(stem.with_suffix(suffix), png.with_suffix(suffix).read_bytes())
        return stem.with_suffix(".png")

    def figure(self, figure_id: str, caption: str, png: Path) -> Figure:
        """The block of a figure whose files lie in the report's figures directory."""
        files = tuple(png.with_suffix(s).relative_to(self.out).as_posix() for s in FIGURE_FORMATS
                      if png.with_suffix(s).is_file())
        return Figure(figure_id, caption, png, files)
