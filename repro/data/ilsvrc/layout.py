"""The real ILSVRC on-disk layouts, as paths relative to a dataset root (the mini-ILSVRC writes them too).

The folder names are those the official archives extract to (``ILSVRC2012_devkit_t12/``,
``ILSVRC2013_DET_val/``, ``ILSVRC2013_DET_bbox_val/``, ``ILSVRC2014_devkit/``); training images go
to ``train/<wnid>/`` and validation images to ``val/``, as the usual extraction scripts do.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class ClsLayout:
    """ILSVRC2012 classification: images and the devkit's ground truth and synset table."""
    train_dir: str = "train"
    val_dir: str = "val"
    ground_truth: str = "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt"
    meta: str = "ILSVRC2012_devkit_t12/data/meta.mat"

    def train_image(self, wnid: str, number: int) -> str:
        """``train/<wnid>/<wnid>_<number>.JPEG`` (numbers neither fixed-width nor consecutive)."""
        return f"{self.train_dir}/{wnid}/{wnid}_{number}.JPEG"

    def val_image(self, index: int) -> str:
        """``val/ILSVRC2012_val_%08d.JPEG`` for 1-based ``index``."""
        return f"{self.val_dir}/ILSVRC2012_val_{index:08d}.JPEG"

    def required(self) -> tuple[str, ...]:
        """What evaluation needs: the validation images and the devkit files (not the training set)."""
        return self.val_dir, self.ground_truth, self.meta


@dataclass(frozen=True)
class DetLayout:
    """ILSVRC2014 detection validation: images, XML ground truth, the devkit's lists and synset table."""
    image_dir: str = "ILSVRC2013_DET_val"
    annotation_dir: str = "ILSVRC2013_DET_bbox_val"
    eval_list: str = "ILSVRC2014_devkit/data/det_lists/val.txt"
    blacklist: str = "ILSVRC2014_devkit/data/ILSVRC2014_det_validation_blacklist.txt"
    meta: str = "ILSVRC2014_devkit/data/meta_det.mat"

    def image(self, name: str) -> str:
        """The image of eval-list entry ``name`` (``<name>.JPEG``)."""
        return f"{self.image_dir}/{name}.JPEG"

    def annotation(self, name: str) -> str:
        """The ground-truth XML of eval-list entry ``name`` (``<name>.xml``)."""
        return f"{self.annotation_dir}/{name}.xml"

    def required(self) -> tuple[str, ...]:
        """What evaluation needs: every path of the layout."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def under(self, folder: str) -> DetLayout:
        """The same layout inside ``folder`` of the root."""
        return replace(self, **{f.name: f"{folder}/{getattr(self, f.name)}" for f in fields(self)})


CLS_LAYOUT = ClsLayout()
DET_LAYOUT = DetLayout()
