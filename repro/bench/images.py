"""The benchmark's images: real JPEGs when a folder is given (../shared/data/imagenet-samples), else
generated ones of typical ILSVRC sizes, written once so decode costs what a real JPEG costs."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from repro.data.ilsvrc.formats import read_unlabelled
from repro.data.ilsvrc.labels import LabelIndex
from repro.errors import ReproError

# (width, height) of common ILSVRC2012 validation images: 500x375 landscape dominates.
GENERATED_SIZES = ((500, 375), (500, 333), (375, 500), (500, 500), (640, 480), (333, 500))


def generate_images(directory: Path, count: int, seed: int = 0,
                    sizes: tuple[tuple[int, int], ...] = GENERATED_SIZES) -> Path:
    """Write ``count`` smooth random JPEGs (quality 90) to ``directory``, (width, height) cycling
    through ``sizes``; deterministic in ``seed``."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for number in range(count):
        width, height = sizes[number % len(sizes)]
        coarse = rng.integers(0, 256, size=(max(1, height // 25), max(1, width // 25), 3), dtype=np.uint8)
        image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        image = cv2.add(image, rng.integers(0, 24, size=image.shape, dtype=np.uint8))
        if not cv2.imwrite(str(directory / f"generated_{number:05d}.JPEG"), image,
                           [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise ReproError(f"could not write a generated image to {directory}")
    return directory


def bench_index(folder: Path, count: int) -> LabelIndex:
    """The first ``count`` images (file-name order) under ``folder``, unlabelled."""
    index = read_unlabelled(folder)
    count = min(count, len(index))
    return LabelIndex(index.filenames[:count], index.wnids[:count], index.class_indices[:count])
