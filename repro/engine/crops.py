"""Multi-crop geometry as a mechanism: a declarative :class:`CropScheme` and the crops it cuts.

The schemes themselves (the paper's 1, 10 and 144 crops) are registered in :data:`CROP_SCHEMES` by
the protocol layer.

Geometry of a scheme with crop size C at scale S (the shorter side after resizing), image W x H:

- resize so the shorter side is S and the longer L becomes L' = floor(L * S / short + 0.5)
  (round half up, computed in integers; ``mx.image.resize_short`` floors instead);
- three S x S squares along the longer side at offsets 0, floor((L' - S) / 2), L' - S: left, centre,
  right (top, centre, bottom for a portrait image; for a square image all three coincide and are kept);
- in each square the C x C crops ``tl`` (0, 0), ``tr`` (S-C, 0), ``bl`` (0, S-C), ``br`` (S-C, S-C),
  ``center`` (floor((S-C)/2), floor((S-C)/2)), and ``full``: the whole square resized to C x C;
- each of those also mirrored (flipped left-right).

Canonical order: scale ascending, square 0..2, kind tl, tr, bl, br, center, full, mirror False then
True. Every array of crops or per-crop scores in the project follows this order, so a smaller
scheme's crops are found inside a larger one's by :meth:`CropScheme.subset_indices`.
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from repro.errors import ReproError
from repro.registry import Registry

KINDS = ("tl", "tr", "bl", "br", "center", "full")
SQUARES = (0, 1, 2)
MIRRORS = (False, True)

# Names accepted by extract_crops; bilinear is the default because it is what GluonCV's ImageNet
# evaluation (transforms.Resize, interpolation=1) and the BVLC Caffe data preparation (cv::resize
# default) use. mx.image.resize_short defaults to interp=2, which is OpenCV's bicubic.
INTERPOLATIONS = {
    "bilinear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "bicubic": cv2.INTER_CUBIC,
    "nearest": cv2.INTER_NEAREST,
    "lanczos": cv2.INTER_LANCZOS4,
}

CropKey = tuple[int, int, str, bool]  # (scale, square, kind, mirror): a crop independent of image size


@dataclass(frozen=True)
class Crop:
    """One crop of one image: where it is in the image resized to ``scale``, and whether it is mirrored.

    ``resized`` is (W', H'); ``box`` is (x0, y0, x1, y1) in resized-image pixels, half-open. For kind
    ``full`` the box is the whole S x S square, which is then resized to C x C.
    """

    scale: int
    square: int
    kind: str
    mirror: bool
    resized: tuple[int, int]
    box: tuple[int, int, int, int]

    def as_dict(self) -> dict:
        """JSON-ready form: {"scale", "square", "kind", "mirror", "resized": [W', H'], "box": [...]}."""
        return {"scale": self.scale, "square": self.square, "kind": self.kind, "mirror": self.mirror,
                "resized": list(self.resized), "box": list(self.box)}


def resized_size(width: int, height: int, scale: int) -> tuple[int, int]:
    """(W', H') of a ``width`` x ``height`` image whose shorter side is resized to ``scale``.

    The longer side is rounded half up: floor(L * S / short + 0.5), in integer arithmetic.
    """
    if width < 1 or height < 1:
        raise ReproError(f"image size {width}x{height} has no pixels; cannot crop it")
    short, long = min(width, height), max(width, height)
    long_resized = (2 * long * scale + short) // (2 * short)
    return (long_resized, scale) if width >= height else (scale, long_resized)


def _square_origin(resized: tuple[int, int], scale: int, square: int) -> tuple[int, int]:
    """(x, y) of square 0/1/2 (left/centre/right, or top/centre/bottom when portrait)."""
    width, height = resized
    slack = max(width, height) - scale
    offset = (0, slack // 2, slack)[square]
    return (offset, 0) if width >= height else (0, offset)


def _crop_origin(kind: str, scale: int, crop_size: int) -> tuple[int, int]:
    """(x, y) of a crop kind inside its S x S square; ``full`` starts at the square's corner."""
    slack = scale - crop_size
    return {"tl": (0, 0), "tr": (slack, 0), "bl": (0, slack), "br": (slack, slack),
            "center": (slack // 2, slack // 2), "full": (0, 0)}[kind]


def _canonical(values: tuple, allowed: tuple, field: str, scheme_id: str) -> tuple:
    """``values`` as a tuple, checked to be non-empty, allowed, unique and in ``allowed``'s order."""
    values = tuple(values)
    if not values or any(v not in allowed for v in values) or \
            list(values) != sorted(set(values), key=allowed.index):
        raise ReproError(f"crop scheme {scheme_id!r}: {field} {values} must be a non-empty subset of "
                         f"{allowed}, in that order")
    return values


@dataclass(frozen=True)
class CropScheme:
    """A declarative multi-crop protocol: every combination of scale x square x kind x mirror.

    ``version`` is bumped on any change to the crops a scheme yields. ``note`` says how the scheme
    relates to the paper; ``deviation`` says where it is this project's choice rather than the paper's
    ("" when it is exactly the paper's protocol). ``subsets`` are smaller schemes whose crops this one
    contains: a store of this scheme also keeps their mean (and max) probabilities, so their rows
    are derived from one pass.
    """

    id: str
    version: int
    crop_size: int
    scales: tuple[int, ...]
    squares: tuple[int, ...] = SQUARES
    kinds: tuple[str, ...] = KINDS
    mirrors: tuple[bool, ...] = MIRRORS
    note: str = ""
    deviation: str = ""
    subsets: tuple[CropScheme, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.version, int) or self.version < 1:
            raise ReproError(f"crop scheme {self.id!r}: version must be an int >= 1, got {self.version!r}")
        if not isinstance(self.crop_size, int) or self.crop_size < 1:
            raise ReproError(f"crop scheme {self.id!r}: crop size must be a positive int, "
                             f"got {self.crop_size!r}")
        scales = tuple(self.scales)
        if not scales or any(not isinstance(s, int) for s in scales) or list(scales) != sorted(set(scales)):
            raise ReproError(f"crop scheme {self.id!r}: scales {scales} must be distinct ints, ascending")
        too_small = [s for s in scales if s < self.crop_size]
        if too_small:
            raise ReproError(f"crop scheme {self.id!r}: crop size {self.crop_size} exceeds scale(s) "
                             f"{too_small}; every scale (shorter side) must be >= the crop size")
        # Frozen: coerce lists to tuples so the scheme stays hashable and comparable.
        object.__setattr__(self, "scales", scales)
        object.__setattr__(self, "squares", _canonical(self.squares, SQUARES, "squares", self.id))
        object.__setattr__(self, "kinds", _canonical(self.kinds, KINDS, "kinds", self.id))
        object.__setattr__(self, "mirrors", _canonical(self.mirrors, MIRRORS, "mirrors", self.id))
        object.__setattr__(self, "subsets", tuple(self.subsets))
        for subset in self.subsets:
            self.subset_indices(subset)  # raises when ``subset`` has a crop this scheme lacks

    @property
    def n_crops(self) -> int:
        """Number of crops per image."""
        return len(self.scales) * len(self.squares) * len(self.kinds) * len(self.mirrors)

    def keys(self) -> list[CropKey]:
        """(scale, square, kind, mirror) of every crop, in canonical order."""
        return list(itertools.product(self.scales, self.squares, self.kinds, self.mirrors))

    def boxes(self, width: int, height: int) -> list[Crop]:
        """The crops of a ``width`` x ``height`` image, in canonical order."""
        sizes = {scale: resized_size(width, height, scale) for scale in self.scales}
        crops = []
        for scale, square, kind, mirror in self.keys():
            sx, sy = _square_origin(sizes[scale], scale, square)
            cx, cy = _crop_origin(kind, scale, self.crop_size)
            side = scale if kind == "full" else self.crop_size
            crops.append(Crop(scale, square, kind, mirror, sizes[scale],
                              (sx + cx, sy + cy, sx + cx + side, sy + cy + side)))
        return crops

    def subset_indices(self, other: CropScheme) -> np.ndarray:
        """Positions in this scheme's canonical order of ``other``'s crops, in ``other``'s order.

        ``scores_144[:, CROPS_144.subset_indices(CROPS_10)]`` are the 10-crop scores. Raises
        ReproError when ``other`` has a crop this scheme lacks (or another crop size).
        """
        if other.crop_size != self.crop_size:
            raise ReproError(f"crop scheme {other.id!r} (crop size {other.crop_size}) is not a subset of "
                             f"{self.id!r} (crop size {self.crop_size})")
        position = {key: i for i, key in enumerate(self.keys())}
        missing = [key for key in other.keys() if key not in position]
        if missing:
            raise ReproError(f"crop scheme {other.id!r} is not a subset of {self.id!r}: {len(missing)} of "
                             f"its crops are missing, e.g. (scale, square, kind, mirror) = {missing[0]}")
        return np.array([position[key] for key in other.keys()], dtype=np.intp)

    def scale_prefix_indices(self) -> list[np.ndarray]:
        """Crop-count curve along the scale order: element k holds the crops of the first k+1 scales.

        For crops-144 the lengths are 36, 72, 108, 144. The canonical order is scale-major, so each
        prefix is a leading range of indices.
        """
        per_scale = self.n_crops // len(self.scales)
        return [np.arange(per_scale * (k + 1)) for k in range(len(self.scales))]

    def for_crop_size(self, crop_size: int) -> CropScheme:
        """The same geometry for another crop size: scales times crop_size / self.crop_size, rounded
        half up (so crops-144 at 112 has scales 128, 144, 160, 176); id gets a ``-c<size>`` suffix."""
        if crop_size == self.crop_size:
            return self
        if not isinstance(crop_size, int) or crop_size < 1:
            raise ReproError(f"crop scheme {self.id!r}: crop size must be a positive int, got {crop_size!r}")
        scales = tuple((2 * s * crop_size + self.crop_size) // (2 * self.crop_size) for s in self.scales)
        resized_note = (f"Crop size {crop_size} instead of {self.crop_size}; scales {self.scales} scaled by "
                        f"{crop_size}/{self.crop_size} and rounded half up to {scales}.")
        return dataclasses.replace(self, id=f"{self.id}-c{crop_size}", crop_size=crop_size, scales=scales,
                                   deviation=f"{self.deviation} {resized_note}".strip(),
                                   subsets=tuple(s.for_crop_size(crop_size) for s in self.subsets))


CROP_SCHEMES: Registry[CropScheme] = Registry("crop scheme")


def get_scheme(name: str) -> CropScheme:
    """The registered scheme ``name``; the paper's crop counts ``1``, ``10``, ``144`` also work."""
    return CROP_SCHEMES.get(f"crops-{name}" if name.isdigit() else name)


def extract_crops(image: np.ndarray, scheme: CropScheme, interpolation: str = "bilinear") -> np.ndarray:
    """All crops of an (H, W, 3) uint8 RGB image as a [n, C, C, 3] uint8 array, in canonical order.

    The image is resized once per scale and the same ``interpolation`` (a key of INTERPOLATIONS)
    resizes each ``full`` square to C x C; other crops are slices, mirrors are flipped left-right.
    """
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3):
        raise ReproError(f"crop scheme {scheme.id!r}: expected an (H, W, 3) uint8 RGB image, got "
                         f"{getattr(image, 'shape', type(image))} {getattr(image, 'dtype', '')}")
    if interpolation not in INTERPOLATIONS:
        raise ReproError(f"unknown interpolation {interpolation!r}; choose one of {', '.join(INTERPOLATIONS)}")
    flag = INTERPOLATIONS[interpolation]
    height, width = image.shape[:2]
    size = scheme.crop_size
    out = np.empty((scheme.n_crops, size, size, 3), dtype=np.uint8)
    resized_scale = patch_key = None
    for i, crop in enumerate(scheme.boxes(width, height)):
        if crop.scale != resized_scale:  # canonical order is scale-major: one resize per scale
            resized = cv2.resize(image, crop.resized, interpolation=flag)
            resized_scale = crop.scale
        key = (crop.scale, crop.square, crop.kind)
        if key != patch_key:  # a mirrored crop follows its unmirrored twin: reuse the patch
            x0, y0, x1, y1 = crop.box
            patch = resized[y0:y1, x0:x1]
            if crop.kind == "full":
                patch = cv2.resize(patch, (size, size), interpolation=flag)
            patch_key = key
        if crop.mirror:  # cv2.flip is ~40x faster than copying numpy's negative-stride view patch[:, ::-1]
            cv2.flip(patch, 1, dst=out[i])
        else:
            out[i] = patch
    return out
