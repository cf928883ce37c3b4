"""Dataset specs: which datasets the harness knows, where their files lie, and how to get them.

A :class:`DatasetSpec` names a dataset root's layout (relative paths, the same for the real ILSVRC and
the generated mini-ILSVRC, so one reader serves both), its size, and for generated data the generator
parameters. Specs are registered by id in :data:`DATASETS` (the known ones by the protocol layer);
``version`` is bumped on any change of meaning (for the mini it is the generator version).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.data.ilsvrc.layout import ClsLayout, DetLayout
from repro.data.mini.config import MiniConfig
from repro.errors import ReproError
from repro.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset root: task, layout, expected size, and how to obtain it."""
    id: str
    version: int
    task: str                        # "classification" | "detection"
    layout: ClsLayout | DetLayout    # paths relative to the root the user passes (--data)
    num_classes: int
    num_images: int                  # validation images (classification) / eval-list images (detection);
                                     # for the mini, those of the default parameters (see its manifest.json)
    obtain: str                      # what to do when files are missing
    generator: MiniConfig | None = None  # parameters, for a generated dataset

    def missing(self, root: str | Path) -> list[str]:
        """The layout's required files and folders that do not exist under ``root``."""
        return [path for path in self.layout.required() if not (Path(root) / path).exists()]

    def check(self, root: str | Path) -> None:
        """Raise :class:`ReproError` naming the first missing path and how to get the data."""
        missing = self.missing(root)
        if missing:
            raise ReproError(f"dataset {self.id}: {Path(root) / missing[0]} is missing"
                             f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
                             f"{self.obtain}")


DATASETS: Registry[DatasetSpec] = Registry("dataset")
