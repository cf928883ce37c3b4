"""What a results directory holds, found and read for the report (tables, figures, stores, logs).

A run's results directory is searched once (symbolic links followed, so big stores kept elsewhere can
be linked in). The report reads what it finds and nothing else:

- the tables written by `repro table` / `repro arch` (:data:`TABLE_FILES`) and their figures
  (:data:`FIGURE_STEMS`, each a PNG with its SVG and CSV beside it);
- probability stores: a directory with ``index.csv`` and ``<model key>/store.json`` (+ manifest.json);
- `repro det-eval` outputs: ``X.csv`` with ``X.csv.manifest.json`` (``"command": "det-eval"``);
- training logs: ``log.csv`` beside a ``manifest.json`` of kind ``training-run`` (``repro train``) (columns ``epoch``, ``loss``, ``lr`` and validation metrics) with an
  optional ``manifest.json`` beside it, one per member;
- benchmark tables: ``bench/*.csv``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repro.errors import ReproError

TABLE_FILES = {
    "table1": "table1_architecture.csv",
    "table1_gluoncv": "table1_architecture_gluoncv.csv",
    "table2": "table2_classification_ilsvrc.csv",
    "table3": "table3_classification.csv",
    "ablation": "ablation_mean_vs_max.csv",
    "table4": "table4_detection.csv",
    "table5": "table5_detection_single.csv",
}
FIGURE_STEMS = ("fig_top5_vs_cost", "fig_error_vs_crops", "fig_error_vs_models")
TRAIN_LOG = "log.csv"  # written by `repro train`, beside a manifest.json of kind "training-run"
TRAINING_KIND = "training-run"
DET_EVAL_MANIFEST_SUFFIX = ".manifest.json"


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


@dataclass(frozen=True, eq=False)  # identity equality: it holds tables
class RunInputs:
    """Everything the report uses from one results directory."""

    root: Path
    label: str
    tables: dict[str, pd.DataFrame]
    figures: dict[str, Path]  # stem -> PNG path
    stores: tuple[StoreInfo, ...]
    det_evals: tuple[DetEvalInfo, ...]
    training: tuple[TrainingLog, ...]
    bench: tuple[tuple[Path, pd.DataFrame], ...]

    def rel(self, path: Path) -> str:
        """``path`` relative to the results directory, '/'-separated."""
        return Path(os.path.relpath(path, self.root)).as_posix()

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
    tables = {name: _read_csv(root / file) for name, file in TABLE_FILES.items()
              if (root / file).is_file()}
    figures = {stem: root / f"{stem}.png" for stem in FIGURE_STEMS if (root / f"{stem}.png").is_file()}
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
                    det_evals.append(DetEvalInfo(csv_path, _read_csv(csv_path), record))
            elif name == TRAIN_LOG and (directory / "manifest.json").is_file():
                record = _read_json(directory / "manifest.json")
                if record.get("kind") == TRAINING_KIND:
                    training.append(TrainingLog(path, _read_csv(path), record))
    bench_dir = root / "bench"
    bench = tuple((p, _read_csv(p)) for p in sorted(bench_dir.glob("*.csv"))) if bench_dir.is_dir() \
        else ()
    return RunInputs(root, label, tables, figures, tuple(stores), tuple(det_evals), tuple(training),
                     bench)
