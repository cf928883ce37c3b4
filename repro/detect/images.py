"""Detection images: decoded pixels with the SHA-256 of their bytes (the proposal cache's key)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repro.data.decode import ImageDecodeError, decode_bytes
from repro.data.ilsvrc.det import ImageAnnotation
from repro.errors import ReproError


@dataclass(frozen=True, eq=False)
class DetImage:
    """One decoded image: (H, W, 3) uint8 RGB pixels and the SHA-256 of its file."""

    name: str
    pixels: np.ndarray
    sha256: str


def read_image(path: Path, annotation: ImageAnnotation | None = None) -> DetImage:
    """Decode ``path``; with ``annotation``, its size must be the XML's ``size`` (else the boxes
    would not refer to these pixels)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read image file: {exc}") from exc
    pixels = decode_bytes(data, str(path))
    if annotation is not None and pixels.shape[:2] != (annotation.height, annotation.width):
        raise ReproError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]} but its ground truth "
                         f"{annotation.name}.xml says {annotation.width}x{annotation.height}")
    return DetImage(Path(path).stem, pixels, hashlib.sha256(data).hexdigest())
