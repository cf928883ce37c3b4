"""Draw one training patch from a decoded image, as a :class:`~repro.train.recipe.SamplingSpec` says.

The formulas are those of ``mx.image`` (``random_size_crop``, ``BrightnessJitterAug``,
``ContrastJitterAug``, ``SaturationJitterAug``, ``LightingAug`` and its ImageNet PCA constants), but
written here against an explicit ``numpy.random.Generator``: ``mx.image``'s augmenters draw from
Python's and numpy's global generators, so with decoding threads the patches would depend on thread
scheduling. Here every patch is a pure function of (image, spec, size, generator).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from repro.engine.crops import INTERPOLATIONS
from repro.train.recipe import Photometric, SamplingSpec

# AlexNet's PCA of ImageNet RGB pixels (0-255 units), as in mx.image.CreateAugmenter and GluonCV.
PCA_EIGVAL = np.array([55.46, 4.794, 1.148])
PCA_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009],
                       [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])
GRAY_COEF = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as mx.image
PATCH_ATTEMPTS = 10


def patch_box(width: int, height: int, spec: SamplingSpec, rng: np.random.Generator,
              ) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of a random patch: area and aspect ratio uniform in the spec's ranges,
    position uniform; the whole image when no draw fits in ``PATCH_ATTEMPTS`` tries."""
    for _ in range(PATCH_ATTEMPTS):
        area = rng.uniform(*spec.area) * width * height
        aspect = rng.uniform(*spec.aspect)
        w = round(math.sqrt(area * aspect))
        h = round(math.sqrt(area / aspect))
        if 1 <= w <= width and 1 <= h <= height:
            x0 = int(rng.integers(0, width - w + 1))
            y0 = int(rng.integers(0, height - h + 1))
            return x0, y0, x0 + w, y0 + h
    return 0, 0, width, height


def distort_colours(patch: np.ndarray, photometric: Photometric, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation jitter in random order, then PCA lighting noise;
    float32 (H, W, 3) in, uint8 out (clipped to 0-255, rounded)."""
    def brightness(x: np.ndarray) -> np.ndarray:
        return x * (1.0 + rng.uniform(-photometric.brightness, photometric.brightness))

    def contrast(x: np.ndarray) -> np.ndarray:
        alpha = 1.0 + rng.uniform(-photometric.contrast, photometric.contrast)
        return x * alpha + (1.0 - alpha) * float((x @ GRAY_COEF).mean())

    def saturation(x: np.ndarray) -> np.ndarray:
        alpha = 1.0 + rng.uniform(-photometric.saturation, photometric.saturation)
        return x * alpha + (1.0 - alpha) * (x @ GRAY_COEF)[..., None]

    jitters = (brightness, contrast, saturation)
    for position in rng.permutation(len(jitters)):
        patch = jitters[position](patch)
    alpha = rng.normal(0.0, photometric.lighting_std, size=3)
    patch = patch + (PCA_EIGVEC * alpha) @ PCA_EIGVAL
    return np.clip(np.rint(patch), 0, 255).astype(np.uint8)


def sample_patch(image: np.ndarray, spec: SamplingSpec, size: int, rng: np.random.Generator) -> np.ndarray:
    """A ``size`` x ``size`` uint8 RGB training patch of an (H, W, 3) uint8 RGB image."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = patch_box(width, height, spec, rng)
    interpolation = spec.interpolations[int(rng.integers(len(spec.interpolations)))]
    patch = cv2.resize(image[y0:y1, x0:x1], (size, size), interpolation=INTERPOLATIONS[interpolation])
    if spec.mirror and rng.random() < 0.5:
        patch = cv2.flip(patch, 1)
    if spec.photometric is not None:
        patch = distort_colours(patch.astype(np.float32), spec.photometric, rng)
    return patch
