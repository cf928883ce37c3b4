"""What a results directory holds, found and read for the report (tables, figures, stores, logs).

A run's results directory is searched once (symbolic links followed, so big stores kept elsewhere can
be linked in). The report reads what it finds and nothing else:

- the tables written by `repro table`, `repro arch` and `repro detect tables` (:data:`TABLES`) and
  the classification figures (:data:`FIGURES`, each a PNG with its SVG and CSV beside it);
- probability stores: a directory with ``index.csv`` and ``<model key>/store.json`` (+ manifest.json);
- `repro det-eval` outputs: ``X.csv`` with ``X.csv.manifest.json`` (``"command": "det-eval"``);
- training logs: ``log.csv`` beside a ``manifest.json`` of kind ``training-run`` (``repro train``) (columns ``epoch``, ``loss``, ``lr`` and validation metrics) with an
  optional ``manifest.json`` beside it, one per member;
- the benchmark of `repro bench` in ``bench/`` (:data:`BENCH_TABLES`, ``machine.json``, its plot).

Every file of results/ is read through the results schema (:mod:`repro.results_schema`): a file
with other columns than its artefact's (an older version) stops the report with one line naming it,
the column and the command that regenerates it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repro import results_schema as schema
from repro.errors import ReproError

#: The tables of results/ the report reads, by artefact id.
TABLES = tuple(schema.get(i) for i in ("table1", "table1_gluoncv", "table2", "table3", "table3_claims", "ablation",
                                       "table4", "table5", "table_proposals", "canary"))
FIGURES = (schema.FIG_TOP5_VS_COST, schema.FIG_ERROR_VS_CROPS, schema.FIG_ERROR_VS_MODELS)
BENCH_TABLES = (schema.BENCH_BARE, schema.BENCH_END_TO_END, schema.BENCH_PEERS, schema.BENCH_MEMORY,
                schema.BENCH_AGREEMENT, schema.BENCH_TARGETS)
TRAIN_LOG = "log.csv"  # written by `repro train`, beside a manifest.json of kind "training-run"
TRAINING_KIND = "training-run"
DET_EVAL_MANIFEST_SUFFIX = schema.MANIFEST_SUFFIX


@dataclass(frozen=True)
class StoreInfo:
    """One model's probability store: its spec and (once complete) its manifest."""

    root: Path  # the store directory (holding index.csv)
    key: str
    spec: dict
    manifest: dict  # empty while the store is incomplete


@dataclass(frozen=True)
class DetEvalInfo:
    """One `repro det-eval` result: per-class AP table and its manifest."""

    csv: Path
    frame: pd.DataFrame
    manifest: dict


@dataclass(frozen=True)
class TrainingLog:
    """One member's training log and the manifest beside it (empty when absent)."""

    csv: Path
    frame: pd.DataFrame
    manifest: dict


@dataclass(frozen=True)
class BenchInputs:
    """One `repro bench` run: its tables by artefact id, the machine and run records, its plot."""

    tables: dict[str, pd.DataFrame]
    machine: dict  # bench/machine.json ({} when absent)
    manifest: dict  # bench/manifest.json ({} when absent)
    plot: Path | None  # the PNG, with its SVG and CSV beside it

    def paths(self, root: Path) -> list[Path]:
        """The benchmark files the report was built from."""
        files = [schema.get(i).path(root) for i in self.tables] + [
            schema.BENCH_MACHINE.path(root), schema.BENCH_MANIFEST.path(root)]
        if self.plot is not None:
            files += [self.plot.with_suffix(s) for s in (".png", ".svg", ".csv")]
        return [p for p in files if p.is_file()]


@dataclass(frozen=True, eq=False)  # identity equality: it holds tables
class RunInputs:
    """Everything the report uses from one results directory."""

    root: Path
    label: str
    tables: dict[str, pd.DataFrame]  # artefact id -> checked frame
    figures: dict[str, Path]  # artefact id (= stem) -> PNG path
    figure_data: dict[str, pd.DataFrame]  # artefact id -> the figure's checked CSV
    stores: tuple[StoreInfo, ...]
    det_evals: tuple[DetEvalInfo, ...]
    training: tuple[TrainingLog, ...]
    bench: BenchInputs | None

    def rel(self, path: Path) -> str:
        """``path`` relative to the results directory, '/'-separated; a path outside it (a cache of
        members or stores) by its last two parts only, so no machine path enters the report."""
        relative = Path(os.path.relpath(path, self.root))
        if relative.parts[:1] == ("..",):
            return "…/" + "/".join(Path(path).parts[-2:])
        return relative.as_posix()

    def stores_for(self, keys: list[str]) -> list[StoreInfo] | None:
        """The stores of ``keys`` (one store directory holding them all), or None if not all found."""
        for root in sorted({s.root for s in self.stores}):
            found = {s.key: s for s in self.stores if s.root == root}
            if all(k in found for k in keys):
                return [found[k] for k in keys]
        return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReproError(f"{path} is not readable JSON ({exc}); regenerate it with the command "
                         f"that wrote it") from exc


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ReproError(f"{path} is not a readable CSV table ({exc}); regenerate it") from exc


def _walk(root: Path):
    """(directory, sub-directory names, file names), sorted, links followed, store chunks skipped."""
    for directory, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in ("chunks", "locks") and not d.startswith("."))
        yield Path(directory), dirs, sorted(files)


def _store(root: Path, key: str) -> StoreInfo:
    manifest_path = root / key / "manifest.json"
    manifest = _read_json(manifest_path) if manifest_path.exists() else {}
    return StoreInfo(root, key, _read_json(root / key / "store.json"), manifest)


def load_run(root: str | Path, label: str, inputs: tuple[str | Path, ...] = ()) -> RunInputs:
    """Read every report input under the results directory ``root``.

    ``inputs`` are more directories searched for stores, det-eval results and training logs (e.g. a
    cache outside the repository, where the reproduction keeps its stores and members).
    """
    root = Path(root)
    for extra in map(Path, inputs):
        if not extra.is_dir():
            raise ReproError(f"--inputs {extra} is not a directory")
    if not root.is_dir():
        raise ReproError(f"results directory {root} does not exist; run `nox -s reproduce` (or the "
                         f"`repro table`/`repro evaluate` commands) to make it")
    tables = {a.id: schema.read_frame(a, root) for a in TABLES if a.path(root).is_file()}
    figures = {a.id: a.path(root).with_suffix(".png") for a in FIGURES
               if a.path(root).with_suffix(".png").is_file()}
    figure_data = {i: schema.read_frame(i, root) for i in figures}
    stores, det_evals, training = [], [], []
    walked = [entry for top in (root, *map(Path, inputs)) for entry in _walk(top)]
    for directory, dirs, files in walked:
        if "index.csv" in files:
            stores += [_store(directory, d) for d in dirs if (directory / d / "store.json").is_file()]
        for name in files:
            path = directory / name
            if name.endswith(".csv" + DET_EVAL_MANIFEST_SUFFIX):
                record = _read_json(path)
                csv_path = directory / name[: -len(DET_EVAL_MANIFEST_SUFFIX)]
                if record.get("command") == "det-eval" and csv_path.is_file():
                    det_evals.append(DetEvalInfo(csv_path, schema.read_frame_at(schema.DET_EVAL, csv_path),
                                                 record))
            elif name == TRAIN_LOG and (directory / "manifest.json").is_file():
                record = _read_json(directory / "manifest.json")
                if record.get("kind") == TRAINING_KIND:
                    training.append(TrainingLog(path, _read_csv(path), record))
    return RunInputs(root, label, tables, figures, figure_data, tuple(stores), tuple(det_evals),
                     tuple(training), _bench(root))


def _bench(root: Path) -> BenchInputs | None:
    """The benchmark run under ``root`` (None when there is none: no bench/bare_network.csv)."""
    if not schema.BENCH_BARE.path(root).is_file():
        return None
    tables = {a.id: schema.read_frame(a, root) for a in BENCH_TABLES if a.path(root).is_file()}
    machine, manifest = (_read_json(a.path(root)) if a.path(root).is_file() else {}
                         for a in (schema.BENCH_MACHINE, schema.BENCH_MANIFEST))
    plot = schema.BENCH_PLOT.path(root).with_suffix(".png")
    return BenchInputs(tables, machine, manifest, plot if plot.is_file() else None)
