"""The detection data of a run: a DET dataset root, its classes, and R-CNN's val1/val2 split.

The root is laid out as a registered detection dataset (:data:`repro.data.datasets.DATASETS`): the
real ILSVRC2014 DET validation (``ilsvrc2014-det-val``) or the mini-ILSVRC (``mini-ilsvrc-det``, under
``det/``). The split follows :class:`~repro.detect.specs.SplitSpec`; both halves get their own
1..n image indexes (as the devkit's ``ilsvrc13_val2.txt``), and the devkit's blacklist, indexed like
the full eval list, is re-indexed to val2 by image name.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.atomic import write_text
from repro.data.datasets import DATASETS, DatasetSpec
from repro.data.ilsvrc.det import (
    Blacklist,
    DetImageList,
    DetMeta,
    ImageAnnotation,
    load_det_meta,
    read_annotations,
    read_blacklist,
    read_image_list,
    remap_blacklist,
)
from repro.data.ilsvrc.layout import DetLayout
from repro.detect.images import DetImage, read_image
from repro.detect.specs import SplitSpec
from repro.errors import ReproError

SPLITS = ("val1", "val2")


@dataclass(frozen=True)
class DetSplit:
    """One half of the split: its list (own 1..n indexes), ground truth and blacklist."""

    name: str
    images: DetImageList
    annotations: tuple[ImageAnnotation, ...]
    blacklist: Blacklist | None
    blacklist_entries_elsewhere: int  # blacklist entries for images of the other half


@dataclass(frozen=True)
class DetData:
    """A detection dataset root and what every step reads from it."""

    root: Path
    dataset: DatasetSpec
    meta: DetMeta
    eval_list: DetImageList

    @property
    def layout(self) -> DetLayout:
        return self.dataset.layout

    def image_path(self, name: str) -> Path:
        return self.root / self.layout.image(name)

    def load_image(self, name: str, annotation: ImageAnnotation | None = None) -> DetImage:
        """Decoded image ``name``, checked against its annotation's size when given."""
        return read_image(self.image_path(name), annotation)

    def split(self, which: str, spec: SplitSpec) -> DetSplit:
        """``val1`` or ``val2`` of the eval list, with ground truth (and, for val2, the blacklist)."""
        if which not in SPLITS:
            raise ReproError(f"split must be one of {SPLITS}, not {which!r}")
        val1, val2 = split_lists(self.eval_list, self.root / Path(self.layout.eval_list).parent
                                 / spec.val2_list)
        images = val1 if which == "val1" else val2
        annotations = tuple(read_annotations(self.root / self.layout.annotation_dir, images, self.meta))
        blacklist, elsewhere = None, 0
        if which == "val2":
            full = read_blacklist(self.root / self.layout.blacklist, self.meta)
            blacklist, elsewhere = remap_blacklist(full, self.eval_list, images)
        return DetSplit(which, images, annotations, blacklist, elsewhere)


def open_det_data(root: str | Path, dataset_id: str | None = None) -> DetData:
    """Open a detection root; without ``dataset_id`` the registered detection dataset whose layout
    is complete under ``root`` is used."""
    root = Path(root)
    candidates = [DATASETS.get(i) for i in DATASETS.ids() if DATASETS.get(i).task == "detection"]
    if dataset_id is not None:
        dataset = DATASETS.get(dataset_id)
        if dataset.task != "detection":
            raise ReproError(f"dataset {dataset_id} is a {dataset.task} dataset, not a detection one")
        dataset.check(root)
    else:
        complete = [d for d in candidates if not d.missing(root)]
        if not complete:
            raise ReproError(f"{root} holds no detection dataset: expected the layout of one of "
                             f"{', '.join(d.id for d in candidates)} "
                             f"(e.g. {root / candidates[0].layout.eval_list})")
        dataset = complete[0]
    meta = load_det_meta(root / dataset.layout.meta)
    return DetData(root, dataset, meta, read_image_list(root / dataset.layout.eval_list))


def split_lists(eval_list: DetImageList, val2_path: Path) -> tuple[DetImageList, DetImageList]:
    """(val1, val2), each with indexes 1..n in eval-list order (val2: in its own file's order)."""
    if val2_path.is_file():
        val2_names = read_image_list(val2_path).names
        known = set(eval_list.names)
        unknown = [n for n in val2_names if n not in known]
        if unknown:
            raise ReproError(f"{val2_path}: image {unknown[0]} is not in {eval_list.source}")
        chosen = set(val2_names)
        val1_names = tuple(n for n in eval_list.names if n not in chosen)
    else:
        val1_names, val2_names = eval_list.names[0::2], eval_list.names[1::2]
    return (DetImageList(tuple(val1_names), np.arange(1, len(val1_names) + 1), f"{eval_list.source} [val1]"),
            DetImageList(tuple(val2_names), np.arange(1, len(val2_names) + 1), f"{eval_list.source} [val2]"))


def write_image_list(path: Path, images: DetImageList) -> Path:
    """Write ``image_name image_index`` lines (the devkit's eval-list format)."""
    return write_text(path, "".join(f"{n} {i}\n" for n, i in zip(images.names, images.indexes.tolist())))


def write_blacklist(path: Path, blacklist: Blacklist | None, meta: DetMeta) -> Path:
    """Write ``image_index WNID`` lines (the devkit's blacklist format)."""
    rows = [] if blacklist is None else zip(blacklist.image_indexes.tolist(), blacklist.class_ids.tolist())
    return write_text(path, "".join(f"{i} {meta.classes[c - 1].wnid}\n" for i, c in rows))
