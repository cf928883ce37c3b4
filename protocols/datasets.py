"""The dataset step: which datasets the harness knows, where their files lie, and how to get them.

A :class:`DatasetSpec` names a dataset root's layout (relative paths, the same for the real ILSVRC and
the generated mini-ILSVRC, so one reader serves both), its size, and for generated data the generator
parameters. Specs are registered by id in :data:`DATASETS`; ``version`` is bumped on any change of
meaning (for the mini it is the generator version).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.data.mini_config import MINI_VERSION, MiniConfig
from repro.data.mini_layout import CLS_LAYOUT, DET_LAYOUT, MINI_DET_LAYOUT, ClsLayout, DetLayout
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

_MINI = MiniConfig()
_MAKE_MINI = "generate it with `repro data mini --out ROOT` (synthetic; numbers not comparable with the paper)"

DATASETS.register("ilsvrc2012-val", DatasetSpec(
    id="ilsvrc2012-val", version=1, task="classification", layout=CLS_LAYOUT,
    num_classes=1000, num_images=50_000,
    obtain="extract ILSVRC2012_img_val.tar into ROOT/val and ILSVRC2012_devkit_t12.tar.gz into ROOT "
           "(image-net.org, registration required); the ILSVRC2014 devkit's "
           "ILSVRC2014_clsloc_validation_ground_truth.txt and meta_clsloc.mat hold the same content"))
DATASETS.register("ilsvrc2014-det-val", DatasetSpec(
    id="ilsvrc2014-det-val", version=1, task="detection", layout=DET_LAYOUT,
    num_classes=200, num_images=20_121,
    obtain="extract ILSVRC2013_DET_val.tar, ILSVRC2013_DET_bbox_val.tgz and ILSVRC2014_devkit.tgz "
           "into ROOT (image-net.org, registration required)"))
DATASETS.register("mini-ilsvrc", DatasetSpec(
    id="mini-ilsvrc", version=MINI_VERSION, task="classification", layout=CLS_LAYOUT,
    num_classes=_MINI.classes, num_images=_MINI.classes * _MINI.val_per_class,
    obtain=_MAKE_MINI, generator=_MINI))
DATASETS.register("mini-ilsvrc-det", DatasetSpec(
    id="mini-ilsvrc-det", version=MINI_VERSION, task="detection", layout=MINI_DET_LAYOUT,
    num_classes=_MINI.classes, num_images=_MINI.det_images,
    obtain=_MAKE_MINI, generator=_MINI))
