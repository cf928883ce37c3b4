"""Helpers shared by the engine tests: a tiny dataset of real JPEGs and `repro evaluate` arguments."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from repro.data.ilsvrc.labels import LabelIndex

CLASSES, WIDTH, CROP = 5, 0.125, 64
WNIDS = ["n01440764", "n01443537", "n01484850", "n01491361", "n01494475"]


def make_dataset(root: Path, count: int, seed: int = 0) -> Path:
    """Real JPEG files of varied size/orientation and a canonical index CSV; returns the CSV."""
    rng = np.random.RandomState(seed)
    images = root / "images"
    images.mkdir(parents=True)
    rows = []
    for i in range(count):
        height, width = [(60, 90), (90, 60), (70, 70), (50, 120)][i % 4]
        pixels = rng.randint(0, 256, size=(height, width, 3), dtype=np.uint8)
        name = f"img_{i:04d}.JPEG"
        assert cv2.imwrite(str(images / name), pixels)
        rows.append((name, WNIDS[i % CLASSES], i % CLASSES))
    index = LabelIndex.from_rows(rows)
    return index.to_csv(root / "index.csv")


def cli_args(root: Path, store: Path, *extra: str, seed: int = 0) -> list[str]:
    return ["evaluate", "--index", str(root / "index.csv"), "--images", str(root / "images"),
            "--model", "googlenet-paper", "--classes", str(CLASSES), "--width", str(WIDTH),
            "--seed", str(seed), "--crops", "144", "--crop-size", str(CROP), "--store", str(store),
            "--chunk-images", "2", "--no-progress", *extra]
