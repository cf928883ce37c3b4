"""Box arithmetic in the devkit's convention: 0-based inclusive pixel corners (width = x2 - x1 + 1).

MXNet's ``box_iou`` measures half-open corners (width = x2 - x1); adding 1 to x2 and y2 first gives
the inclusive IoU the devkit and R-CNN use, without a hand-written IoU.
"""
from __future__ import annotations

import mxnet as mx
import numpy as np


def half_open(boxes: np.ndarray) -> np.ndarray:
    """(n, 4) inclusive corners -> float32 half-open corners (x2 + 1, y2 + 1)."""
    out = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    out[:, 2:] += 1
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of inclusive-corner boxes."""
    a, b = half_open(a), half_open(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    return mx.nd.contrib.box_iou(mx.nd.array(a), mx.nd.array(b), format="corner").asnumpy()


def unique_boxes(boxes: np.ndarray) -> np.ndarray:
    """Distinct boxes in lexicographic (x1, y1, x2, y2) order: the canonical order of a proposal set."""
    return np.unique(np.asarray(boxes, dtype=np.int32).reshape(-1, 4), axis=0)


def covered(gt_boxes: np.ndarray, proposals: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(n_gt,) bool: ground-truth boxes with at least one proposal at IoU >= ``threshold``."""
    overlaps = iou_matrix(gt_boxes, proposals)
    return overlaps.max(axis=1) >= threshold if overlaps.shape[1] else np.zeros(len(overlaps), bool)


def clip_to_image(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inclusive integer boxes clipped to a ``width`` x ``height`` image."""
    out = np.asarray(boxes, dtype=np.int32).reshape(-1, 4).copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width - 1)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height - 1)
    return out
