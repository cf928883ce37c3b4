"""Regions warped to the network input as R-CNN's ``rcnn_im_crop`` does in 'warp' mode.

Geometry, in R-CNN's 1-based pixels for box (x1, y1, x2, y2) and crop size C with padding p:
scale = C / (C - 2p); half sizes hw = (x2 - x1 + 1) / 2, hh = (y2 - y1 + 1) / 2; centre
(x1 + hw, y1 + hh) (R-CNN's, half a pixel right of and below the true centre); the context box is
round(centre -+ half * scale) (MATLAB rounding: half away from zero), clipped to the image; the
clipped window is resized (bilinear, no antialiasing) to round(clipped size * C / unclipped size)
and placed at round(cut-off part * C / unclipped size) from the crop's top-left. Whatever the
window does not cover is the network's mean colour, zero after its normalisation, as in R-CNN.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from repro.models.specs import ModelSpec


def matlab_round(values: np.ndarray) -> np.ndarray:
    """MATLAB's ``round``: halves away from zero (numpy rounds them to even)."""
    values = np.asarray(values, dtype=np.float64)
    return (np.sign(values) * np.floor(np.abs(values) + 0.5)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class WarpPlan:
    """Per box: the source window (0-based, half-open) and where its resized copy goes in the crop."""

    source: np.ndarray  # (n, 4) x0, y0, x1, y1: image[y0:y1, x0:x1]
    target: np.ndarray  # (n, 4) left, top, width, height inside the C x C crop


def plan_warp(boxes: np.ndarray, width: int, height: int, crop_size: int, padding: float) -> WarpPlan:
    """R-CNN's warp geometry for (n, 4) inclusive 0-based boxes of a ``width`` x ``height`` image."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) + 1  # R-CNN's 1-based pixels
    scale = crop_size / (crop_size - 2 * padding)
    half_w, half_h = (b[:, 2] - b[:, 0] + 1) / 2, (b[:, 3] - b[:, 1] + 1) / 2
    cx, cy = b[:, 0] + half_w, b[:, 1] + half_h
    x1, x2 = matlab_round(cx - half_w * scale), matlab_round(cx + half_w * scale)
    y1, y2 = matlab_round(cy - half_h * scale), matlab_round(cy + half_h * scale)
    unclipped_w, unclipped_h = x2 - x1 + 1, y2 - y1 + 1
    cut_x, cut_y = np.maximum(0, 1 - x1), np.maximum(0, 1 - y1)
    x1, y1 = np.maximum(1, x1), np.maximum(1, y1)
    x2, y2 = np.minimum(width, x2), np.minimum(height, y2)
    scale_x, scale_y = crop_size / unclipped_w, crop_size / unclipped_h
    left, top = matlab_round(cut_x * scale_x), matlab_round(cut_y * scale_y)
    out_w = np.minimum(matlab_round((x2 - x1 + 1) * scale_x), crop_size - left)
    out_h = np.minimum(matlab_round((y2 - y1 + 1) * scale_y), crop_size - top)
    return WarpPlan(np.stack([x1 - 1, y1 - 1, x2, y2], axis=1),
                    np.stack([left, top, np.maximum(out_w, 1), np.maximum(out_h, 1)], axis=1))


def mean_fill(spec: ModelSpec) -> np.ndarray:
    """The RGB uint8 colour that the model's normalisation maps (nearly) to zero."""
    mean = np.asarray(spec.mean, dtype=np.float64)
    rgb = mean[::-1] if spec.channel_order == "BGR" else mean
    return matlab_round(rgb).astype(np.uint8)


def warp_regions(image: np.ndarray, boxes: np.ndarray, crop_size: int, padding: float,
                 fill: np.ndarray) -> np.ndarray:
    """(n, C, C, 3) uint8 crops of an (H, W, 3) uint8 image, one per inclusive box."""
    height, width = image.shape[:2]
    plan = plan_warp(boxes, width, height, crop_size, padding)
    crops = np.empty((len(plan.source), crop_size, crop_size, 3), dtype=np.uint8)
    crops[:] = fill
    for crop, (x0, y0, x1, y1), (left, top, w, h) in zip(crops, plan.source.tolist(),
                                                        plan.target.tolist()):
        crop[top:top + h, left:left + w] = cv2.resize(image[y0:y1, x0:x1], (w, h),
                                                      interpolation=cv2.INTER_LINEAR)
    return crops
