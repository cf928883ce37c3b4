"""Selective search proposals with OpenCV contrib's ``cv2.ximgproc`` (``opencv-contrib-python``).

``switchToSelectiveSearchFast`` is not R-CNN's fast mode (its k are 150 and 300 with min size 100), so
the segmentations and strategies are added one by one as :class:`SelectiveSearchSpec` says. OpenCV
ranks the merged regions with a random factor, so its output order changes from call to call while
the set of boxes does not: the boxes are returned distinct and sorted, which makes them deterministic.
"""
from __future__ import annotations

import cv2
import numpy as np

from repro.detect.boxes import clip_to_image, unique_boxes
from repro.detect.specs import SelectiveSearchSpec
from repro.errors import ReproError

_CONVERSIONS = {"hsv": cv2.COLOR_RGB2HSV, "lab": cv2.COLOR_RGB2Lab, "rgb": None}


def _segmentation_module():
    try:
        return cv2.ximgproc.segmentation
    except AttributeError:
        raise ReproError("cv2.ximgproc is missing: install opencv-contrib-python (same version as "
                         "opencv-python, installed after it) for selective search") from None


def _strategy(segmentation, similarities: tuple[str, ...]):
    factories = {"color": segmentation.createSelectiveSearchSegmentationStrategyColor,
                 "texture": segmentation.createSelectiveSearchSegmentationStrategyTexture,
                 "size": segmentation.createSelectiveSearchSegmentationStrategySize,
                 "fill": segmentation.createSelectiveSearchSegmentationStrategyFill}
    return segmentation.createSelectiveSearchSegmentationStrategyMultiple(
        *(factories[name]() for name in similarities))


def selective_search(image: np.ndarray, spec: SelectiveSearchSpec) -> np.ndarray:
    """Proposals of an (H, W, 3) uint8 RGB image: (n, 4) int32 inclusive boxes, distinct, sorted."""
    segmentation = _segmentation_module()
    height, width = image.shape[:2]
    scale = 1.0
    work = image
    if spec.canonical_width and width != spec.canonical_width:
        scale = width / spec.canonical_width
        size = (spec.canonical_width, max(1, round(height / scale)))
        # MATLAB's imresize (R-CNN) is bicubic by default
        work = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    search = segmentation.createSelectiveSearchSegmentation()
    for space in spec.color_spaces:
        code = _CONVERSIONS[space]
        search.addImage(work if code is None else cv2.cvtColor(work, code))
    for k in spec.ks:
        search.addGraphSegmentation(segmentation.createGraphSegmentation(spec.sigma, float(k), int(k)))
    for similarities in spec.strategies:
        search.addStrategy(_strategy(segmentation, similarities))
    rects = np.asarray(search.process(), dtype=np.float64).reshape(-1, 4)  # x, y, w, h
    # half-open edges scale exactly: the whole working image maps onto the whole image
    boxes = np.stack([rects[:, 0] * scale, rects[:, 1] * scale,
                      (rects[:, 0] + rects[:, 2]) * scale - 1,
                      (rects[:, 1] + rects[:, 3]) * scale - 1], axis=1)
    boxes = clip_to_image(np.rint(boxes), width, height)
    sides = np.minimum(boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1)
    return unique_boxes(boxes[sides >= spec.min_side])
