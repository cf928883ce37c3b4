"""Training and validation images of a devkit-style dataset root, as batches ready for the network.

Layout (``repro.data.ilsvrc.layout.CLS_LAYOUT``, the real ILSVRC's and the mini-ILSVRC's):
``ROOT/train/<wnid>/*.JPEG``, ``ROOT/val/``, the devkit's validation ground truth and ``meta.mat``.
The class space is meta.mat's (sorted WNIDs), for training and validation alike.

Randomness is keyed, never sequential: epoch e's image order comes from ``(data_seed, e)`` and each
patch from ``(data_seed, e, image)``, so batches do not depend on thread scheduling and a run resumed
at epoch e sees exactly the batches an uninterrupted run would.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from repro.data.decode import decode_image
from repro.data.ilsvrc.classes import ClassList, read_meta
from repro.data.ilsvrc.formats import read_devkit, read_folder
from repro.data.ilsvrc.labels import LabelIndex
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.engine.crops import extract_crops, get_scheme, resized_size
from repro.engine.pipeline import prepare_ordered
from repro.errors import ReproError
from repro.train.augment import sample_patch
from repro.train.recipe import SamplingSpec

ORDER_STREAM, PATCH_STREAM = 1, 2


def check_layout(root: Path) -> None:
    """Raise :class:`ReproError` naming the first missing part of the training layout."""
    for relative in (CLS_LAYOUT.train_dir, *CLS_LAYOUT.required()):
        if not (root / relative).exists():
            raise ReproError(f"training data {root}: {root / relative} is missing; expected "
                             f"{CLS_LAYOUT.train_dir}/<wnid>/*.JPEG, {CLS_LAYOUT.val_dir}/, "
                             f"{CLS_LAYOUT.ground_truth} and {CLS_LAYOUT.meta} (`repro data mini` writes them)")


def class_space(root: Path) -> ClassList:
    """The dataset's classes: meta.mat's WNIDs, sorted."""
    return read_meta(root / CLS_LAYOUT.meta).classes


class DecodedImages:
    """Decoded RGB images of an index, shrunk so the shorter side is at most ``short_side``.

    With ``cache`` they are kept in memory after the first decode (shared by every member trained in
    the process); decoding the same image twice from two threads is harmless (same pixels).
    """

    def __init__(self, root: Path, index: LabelIndex, short_side: int | None, cache: bool):
        self.root, self.index, self.short_side = root, index, short_side
        self._cache: dict[int, np.ndarray] | None = {} if cache else None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, row: int) -> np.ndarray:
        if self._cache is not None and row in self._cache:
            return self._cache[row]
        image = decode_image(self.root / self.index.filenames[row])
        height, width = image.shape[:2]
        if self.short_side and min(height, width) > self.short_side:
            image = cv2.resize(image, resized_size(width, height, self.short_side), interpolation=cv2.INTER_AREA)
        if self._cache is not None:
            with self._lock:
                self._cache[row] = image
        return image


@dataclass(frozen=True)
class EpochPlan:
    """Which images one worker process sees in one epoch, batch by batch."""

    rows: np.ndarray  # (steps, batch) image rows, in order
    epoch: int

    @property
    def steps(self) -> int:
        """Optimiser steps in the epoch."""
        return len(self.rows)


def epoch_plan(images: int, batch_size: int, data_seed: int, epoch: int, rank: int = 0, workers: int = 1,
               ) -> EpochPlan:
    """Epoch ``epoch``'s batches for worker ``rank`` of ``workers``: a seeded permutation, split into
    disjoint equal shards (every worker takes the same number of steps), the last partial batch dropped."""
    order = np.random.default_rng([data_seed, ORDER_STREAM, epoch]).permutation(images)
    steps = images // workers // batch_size
    if steps == 0:
        raise ReproError(f"{images} training images cannot fill one batch of {batch_size} per worker "
                         f"for {workers} worker(s); lower the batch size")
    shard = order[rank::workers][:steps * batch_size]
    return EpochPlan(shard.reshape(steps, batch_size), epoch)


class TrainingBatches:
    """uint8 NHWC patch batches and their labels for an :class:`EpochPlan`, prepared in threads."""

    def __init__(self, images: DecodedImages, sampling: SamplingSpec, input_size: int, data_seed: int,
                 workers: int = 2, prefetch: int = 4):
        self.images, self.sampling, self.input_size, self.data_seed = images, sampling, input_size, data_seed
        self.workers, self.prefetch = workers, prefetch
        self.labels = np.asarray(images.index.class_indices, dtype=np.float32)

    def batch(self, plan: EpochPlan, step: int) -> np.ndarray:
        """The patches of batch ``step`` of ``plan``, (B, S, S, 3) uint8."""
        return np.stack([sample_patch(self.images[row], self.sampling, self.input_size,
                                      np.random.default_rng([self.data_seed, PATCH_STREAM, plan.epoch, row]))
                         for row in plan.rows[step]])

    def __call__(self, plan: EpochPlan) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(patches, labels)`` for every step of ``plan``, in order."""
        for prepared in prepare_ordered(range(plan.steps), lambda step: self.batch(plan, step),
                                        self.workers, self.prefetch):
            if prepared.error:
                raise ReproError(f"training batch {prepared.row + 1} of epoch {plan.epoch + 1}: {prepared.error}")
            yield prepared.crops, self.labels[plan.rows[prepared.row]]


@dataclass(frozen=True)
class ValidationSet:
    """Single centre crops (the project's 1-crop protocol at the input size) of validation images."""

    crops: np.ndarray  # (N, S, S, 3) uint8
    labels: np.ndarray  # (N,) int
    index_hash: str


def load_validation(root: Path, input_size: int, limit: int | None = None, workers: int = 2) -> ValidationSet:
    """The first ``limit`` validation images (sorted-index order; all when None), centre-cropped."""
    index = read_devkit(root / CLS_LAYOUT.ground_truth, read_meta(root / CLS_LAYOUT.meta))
    rows = range(len(index) if limit is None else min(limit, len(index)))
    scheme = get_scheme("1").for_crop_size(input_size)
    crops = np.empty((len(rows), input_size, input_size, 3), dtype=np.uint8)
    image_dir = root / CLS_LAYOUT.val_dir
    prepare = lambda row: extract_crops(decode_image(image_dir / index.filenames[row]), scheme)[0]
    for prepared in prepare_ordered(rows, prepare, workers, prefetch=4 * max(1, workers)):
        if prepared.error:
            raise ReproError(prepared.error)
        crops[prepared.row] = prepared.crops
    return ValidationSet(crops, np.asarray(index.class_indices[:len(rows)]), index.hash)


def load_training_images(root: Path, classes: ClassList, short_side: int | None, cache: bool) -> DecodedImages:
    """The training images of ``root`` (folder per synset) labelled in ``classes``' order."""
    train_dir = root / CLS_LAYOUT.train_dir
    return DecodedImages(train_dir, read_folder(train_dir, classes), short_side, cache)
