"""The datasets of the paper's reproduction, registered: ILSVRC2012 val, ILSVRC2014 DET val and the
mini-ILSVRC that stands in for both (:class:`~repro.data.datasets.DatasetSpec`)."""
from __future__ import annotations

from repro.data.datasets import DATASETS, DatasetSpec
from repro.data.ilsvrc.layout import CLS_LAYOUT, DET_LAYOUT
from repro.data.mini.config import MINI_VERSION, MiniConfig
from repro.data.mini.layout import MINI_DET_LAYOUT

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
