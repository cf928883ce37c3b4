"""Detections and their scores derived from the region score store; no network runs here.

For a proposal set and a list of members, each image's region scores are the members' softmax
outputs averaged (the paper's ensemble rule), then per-class NMS and the cap give its detections;
all images together are scored with the devkit-exact evaluator.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from repro.data.ilsvrc.det import Blacklist
from repro.detect.nms import image_detections
from repro.detect.region_store import RegionScoreStore
from repro.metrics.det_eval import Detections, DetEvalResult, DetGroundTruth, UndefinedAPWarning, evaluate


def ensemble_detections(store: RegionScoreStore, member_keys: Sequence[str], names: Sequence[str],
                        indexes: Sequence[int], boxes: Sequence[np.ndarray], nms_iou: float,
                        max_per_class: int) -> Detections:
    """Detections of images ``names`` (submission indexes ``indexes``) from the mean of the members'
    region scores on ``boxes[i]``."""
    parts = []
    for name, index, image_boxes in zip(names, indexes, boxes):
        probs = np.mean([store.probs(key, name, image_boxes) for key in member_keys], axis=0)
        class_ids, scores, kept = image_detections(image_boxes, probs, nms_iou, max_per_class)
        parts.append((np.full(len(class_ids), index, np.int64), class_ids, scores, kept))
    if not parts:
        return Detections(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, 4)))
    image_indexes, class_ids, scores, kept = (np.concatenate(p) for p in zip(*parts))
    return Detections(image_indexes, class_ids, scores, kept)


def score(detections: Detections, ground_truth: DetGroundTruth,
          blacklist: Blacklist | None) -> DetEvalResult:
    """The devkit's scores; classes without positives are reported by the caller (NaN AP)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAPWarning)
        return evaluate(detections, ground_truth, blacklist)
