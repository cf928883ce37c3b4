"""ILSVRC2014 DET scoring, rule for rule as the devkit's ``eval_detection.m``.

Submission lines: ``image_index det_class_id confidence xmin ymin xmax ymax`` (whitespace separated).
The devkit's rules, all followed here:

- Pixel areas are inclusive: width = x2 - x1 + 1, also for intersections and float predictions.
- Every ground-truth object has its own IoU threshold thr = min(0.5, w*h / ((w+10)*(h+10))).
- Per image, detections are visited in descending confidence, ties in file order. Each takes, among the
  not-yet-matched objects of its class, the one with the largest IoU that is >= that object's
  threshold (equal IoU: the earlier object in the XML); it is then a true positive, else a false
  positive. (Pascal VOC instead marks it false when its best object is already taken.)
- Blacklisted (image, class) pairs: their detections are ignored, their objects are not positives.
- AP per class: detections of all evaluated images concatenated in image-index order, stably sorted by
  descending confidence; AP = area under the precision envelope at every recall step (VOC 2010+).
  mAP = mean over the classes.

Where the devkit crashes or silently mis-scores, this module defines the rule (``DEFINED_RULES``):

- an empty submission scores AP 0 for every class with positives;
- a detection for an image index not in the eval list is an error naming its line, unless
  drop_outside, which drops such detections and counts them;
- a class without positives has undefined AP (NaN), is excluded from the mean, and is warned about;
- a malformed line (field count, non-numeric or non-integer field, non-finite value) is an error
  naming the file and line;
- a class id outside 1..num_classes is an error;
- an inverted box (xmax < xmin or ymax < ymin) is an error naming its line (the devkit would give it
  a negative area and a meaningless IoU);
- a blacklist entry for an image not in the eval list is an error (re-index it with remap_blacklist).

A box reaching beyond its image is scored as given, as the devkit does (no clipping), and counted
(``DetEvalResult.n_off_image``).

Not GluonCV's ``VOCMApMetric``: it has one IoU threshold for all objects, exclusive areas for float
boxes and Pascal VOC's matching, so it cannot give the devkit's numbers.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from itertools import islice
from typing import Sequence

import numpy as np

from repro.atomic import write_text
from repro.data.ilsvrc.det import Blacklist, ImageAnnotation, row_location
from repro.errors import ReproError

DEFINED_RULES = (
    "an empty submission scores AP 0 for every class with positives",
    "a detection for an image index not in the eval list is an error naming its line, unless "
    "drop_outside, which drops such detections and counts them",
    "a class without positives has undefined AP (NaN), is excluded from the mean, and is warned about",
    "a malformed line (field count, non-numeric or non-integer field, non-finite value) is an error "
    "naming the file and line",
    "a class id outside 1..num_classes is an error",
    "an inverted box (xmax < xmin or ymax < ymin) is an error naming its line",
    "a blacklist entry for an image not in the eval list is an error (re-index it with remap_blacklist)",
)

PIXEL_TOLERANCE = 10     # devkit ``pixelTolerance``
DEFAULT_IOU_THRESHOLD = 0.5  # devkit ``defaultIOUthr``
_FIELDS = ("image_index", "det_class_id", "confidence", "xmin", "ymin", "xmax", "ymax")
_CHUNK_LINES = 200_000  # bounds the memory of the string table while loading a submission


class UndefinedAPWarning(UserWarning):
    """Some classes have no positives: their AP is NaN and they are left out of the mean."""


@dataclass(frozen=True, eq=False)
class Detections:
    """Scored boxes, one row per detection, in submission (file) order."""

    image_indexes: np.ndarray  # (n,) int64, eval-list image index
    class_ids: np.ndarray      # (n,) int64, 1-based detection class id
    scores: np.ndarray         # (n,) float64
    boxes: np.ndarray          # (n, 4) float64 xmin, ymin, xmax, ymax; 0-based inclusive pixels
    source: str = "<memory>"
    lines: np.ndarray | None = None  # (n,) 1-based line numbers in ``source``

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_indexes", np.asarray(self.image_indexes, dtype=np.int64))
        object.__setattr__(self, "class_ids", np.asarray(self.class_ids, dtype=np.int64))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float64))
        boxes = np.asarray(self.boxes, dtype=np.float64)
        object.__setattr__(self, "boxes", boxes.reshape(0, 4) if boxes.size == 0 else boxes)
        n = len(self.image_indexes)
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ReproError(f"detections from {self.source}: boxes must have shape (n, 4), "
                             f"not {self.boxes.shape}")
        if not (len(self.class_ids) == len(self.scores) == len(self.boxes) == n):
            raise ReproError(f"detections from {self.source}: image_indexes, class_ids, scores and "
                             f"boxes must have the same length")
        finite = np.isfinite(self.scores) & np.isfinite(self.boxes).all(axis=1)
        if not finite.all():
            raise ReproError(f"{self.describe(int(np.flatnonzero(~finite)[0]))}: confidence and box "
                             f"must be finite numbers")
        inverted = (self.boxes[:, 2] < self.boxes[:, 0]) | (self.boxes[:, 3] < self.boxes[:, 1])
        if inverted.any():
            row = int(np.flatnonzero(inverted)[0])
            count = int(inverted.sum())
            raise ReproError(f"{self.describe(row)}: box {tuple(self.boxes[row].tolist())} is inverted "
                             f"(xmax < xmin or ymax < ymin), as {'is' if count == 1 else 'are'} {count} "
                             f"in all: write xmin ymin xmax ymax")

    def __len__(self) -> int:
        return len(self.image_indexes)

    def describe(self, row: int) -> str:
        """Where detection ``row`` came from, for error messages."""
        return row_location(self.source, self.lines, row, "detection")


@dataclass(frozen=True, eq=False)
class DetGroundTruth:
    """The objects of the evaluated images, flattened; images in ascending index order."""

    image_indexes: np.ndarray  # (n_images,) int64, ascending, unique
    object_image: np.ndarray   # (n_objects,) position of each object's image in image_indexes
    object_class: np.ndarray   # (n_objects,) int64 class id
    object_boxes: np.ndarray   # (n_objects, 4) xmin, ymin, xmax, ymax; 0-based inclusive pixels
    num_classes: int
    image_sizes: np.ndarray | None = None  # (n_images, 2) width, height, in image_indexes order

    @classmethod
    def from_annotations(cls, image_indexes: Sequence[int] | np.ndarray,
                         annotations: Sequence[ImageAnnotation], num_classes: int) -> DetGroundTruth:
        """Ground truth of ``annotations[i]`` for the image with index ``image_indexes[i]``."""
        indexes = np.asarray(image_indexes, dtype=np.int64)
        if len(indexes) != len(annotations):
            raise ReproError(f"{len(indexes)} image indexes for {len(annotations)} annotations")
        order = np.argsort(indexes, kind="stable")
        if len(indexes) > 1 and np.any(np.diff(indexes[order]) == 0):
            raise ReproError("image indexes of the ground truth repeat")
        sorted_annotations = [annotations[i] for i in order]
        counts = [len(a.class_ids) for a in sorted_annotations]
        object_class = np.concatenate([np.zeros(0, np.int64)]
                                      + [a.class_ids for a in sorted_annotations])
        if np.any((object_class < 1) | (object_class > num_classes)):
            raise ReproError(f"ground-truth class ids must lie in 1..{num_classes}")
        return cls(indexes[order], np.repeat(np.arange(len(indexes)), counts), object_class,
                   np.concatenate([np.zeros((0, 4))] + [a.boxes for a in sorted_annotations]),
                   num_classes, np.array([(a.width, a.height) for a in sorted_annotations],
                                         dtype=np.int64).reshape(-1, 2))


@dataclass(frozen=True, eq=False)
class DetEvalResult:
    """Per-class AP (index c-1 holds class c; NaN = no positives) and counts."""

    ap: np.ndarray     # (num_classes,) float64
    n_pos: np.ndarray  # (num_classes,) positives (non-blacklisted objects)
    n_det: np.ndarray  # (num_classes,) scored detections (not blacklisted, not dropped)
    n_dropped_outside: int = 0
    n_ignored_blacklisted: int = 0
    n_off_image: int = 0  # scored detections whose box reaches beyond their image (scored as given)

    @property
    def class_ids(self) -> np.ndarray:
        return np.arange(1, len(self.ap) + 1)

    @property
    def undefined_class_ids(self) -> np.ndarray:
        """Classes without positives (AP undefined)."""
        return self.class_ids[self.n_pos == 0]

    @property
    def map(self) -> float:
        """Mean AP over the classes with positives (NaN when there are none)."""
        defined = self.ap[self.n_pos > 0]
        return float(defined.mean()) if defined.size else float("nan")


def _parse_column(table: np.ndarray, column: int, dtype: type, lines: list[int], path: str) -> np.ndarray:
    """Convert one column of the string table; on failure name the first bad line."""
    try:
        return table[:, column].astype(dtype)
    except (ValueError, OverflowError):
        for row, text in enumerate(table[:, column].tolist()):
            try:
                dtype(text)
            except (ValueError, OverflowError):
                kind = "an integer" if dtype is np.int64 else "a number"
                raise ReproError(f"{path} line {lines[row]}: {_FIELDS[column]} {text!r} is not "
                                 f"{kind}") from None
        raise  # not reached: a cell that fails above also fails on its own


def _parse_chunk(numbered_lines: list[tuple[int, str]], path: str) -> tuple[np.ndarray, ...]:
    rows, lines = [], []
    for number, line in numbered_lines:
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(_FIELDS):
            raise ReproError(f"{path} line {number}: expected {len(_FIELDS)} fields "
                             f"({' '.join(_FIELDS)}), got {len(fields)}")
        rows.append(fields)
        lines.append(number)
    table = np.array(rows, dtype=str).reshape(-1, len(_FIELDS))
    ints = [_parse_column(table, c, np.int64, lines, path) for c in (0, 1)]
    floats = np.stack([_parse_column(table, c, np.float64, lines, path) for c in range(2, 7)], axis=1)
    return ints[0], ints[1], floats[:, 0], floats[:, 1:], np.array(lines, dtype=np.int64)


def load_submission(path: str | os.PathLike) -> Detections:
    """Read a submission file; blank lines are skipped, anything else malformed is an error."""
    path = os.fspath(path)
    chunks = []
    try:
        with open(path, encoding="utf-8") as handle:
            numbered = enumerate(handle, start=1)
            while batch := list(islice(numbered, _CHUNK_LINES)):
                chunks.append(_parse_chunk(batch, path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReproError(f"{path}: cannot read this submission file ({exc})")
    if not chunks:
        chunks.append(_parse_chunk([], path))
    image_indexes, class_ids, scores, boxes, lines = (np.concatenate(parts) for parts in zip(*chunks))
    return Detections(image_indexes, class_ids, scores, boxes, path, lines)


def write_submission(path: str | os.PathLike, detections: Detections) -> None:
    """Atomically write detections in the submission format; floats are written so they read back
    exactly."""
    write_text(path, "".join(
        f"{index} {class_id} {score!r} {box[0]!r} {box[1]!r} {box[2]!r} {box[3]!r}\n"
        for index, class_id, score, box in zip(detections.image_indexes.tolist(),
                                               detections.class_ids.tolist(),
                                               detections.scores.tolist(), detections.boxes.tolist())))


def _inclusive_size(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1


def object_thresholds(boxes: np.ndarray) -> np.ndarray:
    """Per-object IoU threshold min(0.5, w*h / ((w+10)*(h+10))) with inclusive w, h."""
    w, h = _inclusive_size(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    return np.minimum(DEFAULT_IOU_THRESHOLD, (w * h) / ((w + PIXEL_TOLERANCE) * (h + PIXEL_TOLERANCE)))


def _pair_iou(det_boxes: np.ndarray, gt_boxes: np.ndarray) -> np.ndarray:
    """Row-wise IoU of two (n, 4) box arrays, in the devkit's operation order; -1 where disjoint."""
    iw = np.minimum(det_boxes[:, 2], gt_boxes[:, 2]) - np.maximum(det_boxes[:, 0], gt_boxes[:, 0]) + 1
    ih = np.minimum(det_boxes[:, 3], gt_boxes[:, 3]) - np.maximum(det_boxes[:, 1], gt_boxes[:, 1]) + 1
    dw, dh = _inclusive_size(det_boxes)
    gw, gh = _inclusive_size(gt_boxes)
    overlapping = (iw > 0) & (ih > 0)
    union = dw * dh + gw * gh - iw * ih
    iou = np.full(len(iw), -1.0)
    np.divide(iw * ih, union, out=iou, where=overlapping)
    return iou


def _positions(image_indexes: np.ndarray, sorted_indexes: np.ndarray) -> np.ndarray:
    """Position of each image index in ``sorted_indexes``, -1 where absent."""
    if len(sorted_indexes) == 0:
        return np.full(len(image_indexes), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_indexes, image_indexes)
    found = sorted_indexes[np.minimum(pos, len(sorted_indexes) - 1)] == image_indexes
    return np.where(found, pos, -1)


def _check_classes(detections: Detections, num_classes: int) -> None:
    bad = np.flatnonzero((detections.class_ids < 1) | (detections.class_ids > num_classes))
    if bad.size:
        row = int(bad[0])
        raise ReproError(f"{detections.describe(row)}: class id {detections.class_ids[row]} is "
                         f"outside 1..{num_classes}")


def _blacklist_keys(blacklist: Blacklist | None, ground_truth: DetGroundTruth) -> np.ndarray:
    """Keys ``position * (num_classes + 1) + class`` of the blacklisted (image, class) pairs."""
    if blacklist is None or len(blacklist) == 0:
        return np.zeros(0, np.int64)
    pos = _positions(blacklist.image_indexes, ground_truth.image_indexes)
    if np.any(pos < 0):
        row = int(np.flatnonzero(pos < 0)[0])
        raise ReproError(f"{blacklist.describe(row)}: image index {blacklist.image_indexes[row]} is "
                         f"not in the eval list; a blacklist written for another list (the devkit's is "
                         f"indexed like det_lists/val.txt) must be re-indexed (remap_blacklist)")
    return np.unique(pos * (ground_truth.num_classes + 1) + blacklist.class_ids)


def _match(det_pos: np.ndarray, det_class: np.ndarray, det_scores: np.ndarray, det_boxes: np.ndarray,
           ground_truth: DetGroundTruth) -> np.ndarray:
    """True-positive flags of detections (file order), matched greedily per image as the devkit does."""
    key_span = ground_truth.num_classes + 1
    gt_keys = ground_truth.object_image * key_span + ground_truth.object_class
    gt_order = np.argsort(gt_keys, kind="stable")  # stable: XML order within an (image, class) group
    sorted_keys = gt_keys[gt_order]
    det_keys = det_pos * key_span + det_class
    start = np.searchsorted(sorted_keys, det_keys, side="left")
    counts = np.searchsorted(sorted_keys, det_keys, side="right") - start
    # every (detection, object of its image and class) pair
    pair_det = np.repeat(np.arange(len(det_keys)), counts)
    offsets = np.arange(len(pair_det)) - np.repeat(np.cumsum(counts) - counts, counts)
    pair_gt = gt_order[np.repeat(start, counts) + offsets]
    gt_boxes = ground_truth.object_boxes.astype(np.float64)
    iou = _pair_iou(det_boxes[pair_det], gt_boxes[pair_gt])
    valid = iou >= object_thresholds(gt_boxes)[pair_gt]
    pair_det, pair_gt, iou = pair_det[valid], pair_gt[valid], iou[valid]
    # visiting order: per image, descending confidence, ties in file order
    visit_rank = np.empty(len(det_keys), np.int64)
    visit_rank[np.lexsort((np.arange(len(det_keys)), -det_scores, det_pos))] = np.arange(len(det_keys))
    # within a detection: largest IoU first, equal IoU -> earlier object
    order = np.lexsort((pair_gt, -iou, visit_rank[pair_det]))
    # The greedy "first not-yet-matched candidate" is sequential; the loop only visits candidate
    # pairs that already pass their object's threshold, so it stays short.
    matched = np.zeros(len(gt_keys), bool)
    true_positive = np.zeros(len(det_keys), bool)
    last_assigned = -1
    for d, g in zip(pair_det[order].tolist(), pair_gt[order].tolist()):
        if d != last_assigned and not matched[g]:
            matched[g] = True
            true_positive[d] = True
            last_assigned = d
    return true_positive


def average_precision(true_positive: np.ndarray, n_pos: int) -> float:
    """Area under the precision envelope (VOC 2010+) of ranked detections; NaN when ``n_pos == 0``."""
    if n_pos == 0:
        return float("nan")
    tp = np.cumsum(true_positive, dtype=np.float64)
    fp = np.cumsum(~np.asarray(true_positive, bool), dtype=np.float64)
    recall = np.concatenate(([0.0], tp / n_pos, [1.0]))
    precision = np.concatenate(([0.0], tp / np.maximum(tp + fp, 1), [0.0]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * envelope[steps]))


def _off_image(boxes: np.ndarray, positions: np.ndarray, ground_truth: DetGroundTruth) -> int:
    """How many boxes reach beyond their image (0-based inclusive pixels); 0 without image sizes."""
    if ground_truth.image_sizes is None or not len(boxes):
        return 0
    width, height = ground_truth.image_sizes[positions].T
    return int(np.sum((boxes[:, 0] < 0) | (boxes[:, 1] < 0) | (boxes[:, 2] > width - 1)
                      | (boxes[:, 3] > height - 1)))


def evaluate(detections: Detections, ground_truth: DetGroundTruth, blacklist: Blacklist | None = None,
             *, drop_outside: bool = False) -> DetEvalResult:
    """Score ``detections`` against ``ground_truth`` with the devkit's rules and this module's
    ``DEFINED_RULES``; warns (:class:`UndefinedAPWarning`) about classes without positives."""
    num_classes = ground_truth.num_classes
    _check_classes(detections, num_classes)
    det_pos = _positions(detections.image_indexes, ground_truth.image_indexes)
    outside = det_pos < 0
    if outside.any() and not drop_outside:
        row = int(np.flatnonzero(outside)[0])
        raise ReproError(f"{detections.describe(row)}: image index {detections.image_indexes[row]} is "
                         f"not in the eval list ({int(outside.sum())} such detections; drop them with "
                         f"drop_outside / --drop-outside)")
    banned = _blacklist_keys(blacklist, ground_truth)
    key_span = num_classes + 1
    ignored = ~outside & np.isin(det_pos * key_span + detections.class_ids, banned)
    scored = np.flatnonzero(~outside & ~ignored)  # file order
    pos, cls = det_pos[scored], detections.class_ids[scored]
    scores = detections.scores[scored]
    true_positive = _match(pos, cls, scores, detections.boxes[scored], ground_truth)
    off_image = _off_image(detections.boxes[scored], pos, ground_truth)

    counted = ~np.isin(ground_truth.object_image * key_span + ground_truth.object_class, banned)
    n_pos = np.bincount(ground_truth.object_class[counted], minlength=key_span)[1:]
    n_det = np.bincount(cls, minlength=key_span)[1:]
    # AP ranking: by class, descending confidence, ties in image-index order then file order
    ranked = np.lexsort((np.arange(len(scored)), pos, -scores, cls))
    bounds = np.searchsorted(cls[ranked], np.arange(1, key_span + 1))
    ap = np.array([average_precision(true_positive[ranked[bounds[c]:bounds[c + 1]]], int(n_pos[c]))
                   for c in range(num_classes)])
    result = DetEvalResult(ap, n_pos, n_det, int(outside.sum()), int(ignored.sum()), off_image)
    if result.undefined_class_ids.size:
        warnings.warn(f"{result.undefined_class_ids.size} of {num_classes} classes have no positives; "
                      f"their AP is undefined (NaN) and excluded from the mean: class ids "
                      f"{result.undefined_class_ids.tolist()}", UndefinedAPWarning, stacklevel=2)
    return result
