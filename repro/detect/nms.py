"""Detections of one image from its regions' class scores: greedy per-class NMS, then a per-class cap.

R-CNN's ``nms.m`` rule: boxes visited in descending score; a box is dropped when its IoU with a kept
box of the same class exceeds the threshold (IoU equal to it is kept); areas are inclusive. This is
MXNet's ``box_nms`` (one batch row per class, suppression when IoU > threshold), fed half-open boxes
so that its exclusive areas equal the inclusive ones.
"""
from __future__ import annotations

import mxnet as mx
import numpy as np

from repro.detect.boxes import half_open


def image_detections(boxes: np.ndarray, probs: np.ndarray, nms_iou: float, max_per_class: int,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(class ids, scores, boxes) of one image.

    ``boxes`` (n, 4) inclusive; ``probs`` (n, classes + 1), column 0 background. Every box is a
    candidate for every class c >= 1 with score ``probs[:, c]``; boxes with score 0 are not
    candidates. Per class, ordered by descending score.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    n, classes = len(boxes), probs.shape[1] - 1
    if n == 0 or classes == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros((0, 4))
    # (classes, n, 6): score, x1, y1, x2 + 1, y2 + 1, region row
    data = np.empty((classes, n, 6), np.float32)
    data[:, :, 0] = probs[:, 1:].T
    data[:, :, 1:5] = half_open(boxes)
    data[:, :, 5] = np.arange(n)
    kept = mx.nd.contrib.box_nms(mx.nd.array(data), overlap_thresh=nms_iou, valid_thresh=0.0, topk=-1,
                                 coord_start=1, score_index=0, id_index=-1,
                                 force_suppress=True).asnumpy()[:, :max_per_class]
    class_index, slot = np.nonzero(kept[:, :, 0] >= 0)
    rows = kept[class_index, slot, 5].astype(np.int64)
    # scores from the float32 probabilities themselves, not from box_nms's copy
    return class_index + 1, probs[rows, class_index + 1].astype(np.float64), boxes[rows].astype(np.float64)
