"""ImageNet-ReaL (Beyer et al. 2020, "Are we done with ImageNet?"): re-assessed validation labels.

``real.json`` (timm ships it as ``imagenet_real_labels.json``) is a JSON list of 50,000 lists of class
indices (sorted-WNID order); entry i belongs to ``ILSVRC2012_val_{i+1:08d}.JPEG``. An empty list
means the raters found no ILSVRC class fits; such images are excluded from ReaL accuracy, as in the
paper and timm's ``RealLabels``. A prediction is correct if it is any of the image's ReaL labels.
Images are matched by base name, so both ``ILSVRC2012_val_00000001.JPEG`` and
``n01751748/ILSVRC2012_val_00000001.JPEG`` find their labels.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

import numpy as np

from repro.data.ilsvrc.labels import ILSVRC2012_VAL_FILENAME, ILSVRC2012_VAL_IMAGES
from repro.errors import LabelError


def load_real_labels(path: str | Path, n_classes: int = 1000) -> dict[str, tuple[int, ...]]:
    """``ILSVRC2012_val_%08d.JPEG`` -> its ReaL class indices (possibly empty), checked for shape."""
    path = Path(path)
    try:
        lists = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LabelError(f"{path}: cannot read ImageNet-ReaL labels: {exc}") from exc
    if not isinstance(lists, list) or len(lists) != ILSVRC2012_VAL_IMAGES:
        raise LabelError(f"{path}: expected a JSON list of {ILSVRC2012_VAL_IMAGES} label lists")
    labels = {}
    for i, entry in enumerate(lists):
        name = ILSVRC2012_VAL_FILENAME.format(i + 1)
        if not isinstance(entry, list) or not all(type(c) is int and 0 <= c < n_classes for c in entry):
            raise LabelError(f"{path}: entry {i} ({name}) is not a list of class indices 0..{n_classes - 1}")
        labels[name] = tuple(entry)
    return labels


def real_accuracy(probabilities: np.ndarray, filenames: Sequence[str],
                  real_labels: Mapping[str, tuple[int, ...]], top_k: int = 1) -> float:
    """ReaL top-``top_k`` accuracy (0..1) of ``probabilities`` (N, C) for images ``filenames``.

    The fraction of the images with a non-empty ReaL label list whose top-``top_k`` classes include
    one of them; images with an empty list are left out. Ties in the scores go to the lower class
    index (a stable sort, like ``np.argmax``).
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[0] != len(filenames):
        raise LabelError(f"probabilities of shape {probabilities.shape} do not match "
                         f"{len(filenames)} file names; expected (N, C)")
    ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
    correct, scored = 0, 0
    for filename, predicted in zip(filenames, ranked):
        name = PurePosixPath(filename).name
        if name not in real_labels:
            raise LabelError(f"{filename}: no ImageNet-ReaL entry (ReaL covers the 50,000 ILSVRC2012 "
                             f"validation images)")
        labels = real_labels[name]
        if not labels:
            continue
        scored += 1
        if max(labels) >= probabilities.shape[1]:
            raise LabelError(f"{filename}: ReaL label {max(labels)} is beyond the "
                             f"{probabilities.shape[1]} classes of the probabilities")
        correct += bool(set(labels) & set(predicted.tolist()))
    if scored == 0:
        raise LabelError("none of the images has a ReaL label; ReaL accuracy is undefined")
    return correct / scored
