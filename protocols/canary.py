"""The accuracy canary (issue 13) as data: a real ImageNet-trained network through the harness's
real-data path (`repro labels`, `repro evaluate`, the stores' derived rows) on the real images of
``../shared/data``, beside the network's published single-crop figures.

The network is EfficientNet-Lite0 (``efficientnet-lite0:pretrained``, weights from the ``canary``
pip extra), a test instrument and **not a GoogLeNet**: what it checks is the path (decoding, colour
order, normalisation, resize and crop geometry, label mapping, scoring), by landing near its
published accuracy. The image sets are far smaller than the 50,000-image validation set the
published figures are measured on (:data:`CAVEAT`); the table writer is :mod:`protocols.canary_tables`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageSet:
    """A folder of real images the canary is evaluated on, and the crop counts reported for it.

    ``id`` names the set's store under the canary's store root (``STORE/<id>``) and its rows; one
    pass with the largest of ``crops`` keeps the smaller counts' means too (a 144-crop store keeps
    the 1- and 10-crop means, a 10-crop store the 1-crop mean: :attr:`CropScheme.subsets`).
    """

    id: str
    title: str
    folder: tuple[str, ...]  # under ../shared/data
    images: int
    classes: int  # distinct classes among the images
    crops: tuple[int, ...]
    labels: str  # how the images are labelled, as a `repro labels` form
    caveat: str


@dataclass(frozen=True)
class Published:
    """A published single-crop accuracy of the network on the full ILSVRC2012 val set, as errors."""

    source: str
    top1_err: float
    top5_err: float | None  # None where the source reports no top-5
    images: int
    reference: str


@dataclass(frozen=True)
class CanaryProtocol:
    """The canary: which network, on which backend, on which image sets, beside which figures."""

    model_ref: str
    model_key: str  # its key in a store
    model_title: str
    backend: str
    image_sets: tuple[ImageSet, ...]
    google: Published  # the weights' authors
    timm: Published  # the same weights ported to PyTorch, with a top-5
    caveat: str

    @property
    def published(self) -> tuple[Published, ...]:
        """Every published figure, the authors' first."""
        return self.google, self.timm

    def image_set(self, set_id: str) -> ImageSet:
        """The image set ``set_id``."""
        return next(s for s in self.image_sets if s.id == set_id)


SAMPLES = ImageSet(
    "samples", "ImageNet class samples", ("imagenet-samples",), 1000, 1000, (1, 10),
    "the WNID prefix of each file name (`repro labels --wnid-prefix`), indices from the full "
    "1000-class list",
    "one image per class (github.com/EliSchwartz/imagenet-sample-images), from an unstated split "
    "(train or val: a training image flatters the network); 23 grayscale, one EXIF-rotated")
VAL_SAMPLE = ImageSet(
    "val", "ILSVRC2012 val sample", ("ilsvrc2012-val-sample", "test_images"), 100, 86, (1, 10, 144),
    "the devkit ground truth (`repro labels --gt ... --meta meta_clsloc.mat --keep-present`)",
    "the first 100 val images that are also in the DET val list (not a random draw; 86 classes), "
    "NOT byte-original: cropped top-left to multiples of 8 px and re-encoded by their source repo")

GOOGLE = Published(
    "Google (TensorFlow)", round(1 - 0.751, 4), None, 50000,
    "tensorflow/tpu, models/official/efficientnet/lite: EfficientNet-Lite0 75.1% top-1 accuracy")
TIMM = Published(
    "timm (the same weights ported)", round(1 - 0.7485, 4), round(1 - 0.9218, 4), 50000,
    "timm's ImageNet results for tf_efficientnet_lite0: 74.85% top-1, 92.18% top-5 accuracy")

CAVEAT = ("100 or 1,000 images are not the 50,000-image ILSVRC2012 val set the published figures are "
          "measured on: the exact 95% intervals are wide (about +-9 points of top-1 on 100 images, "
          "+-3 on 1,000), the class samples may include training images and the val sample is "
          "re-encoded, so the check is that the published figure lies near the interval; the bugs "
          "injected in tests/integration/test_canary.py (BGR, a mean in 0-1 units, labels from 1) "
          "cost 12 to 87 points of top-1 on the class samples.")

CANARY = CanaryProtocol(
    model_ref="efficientnet-lite0:pretrained", model_key="efficientnet-lite0-pretrained",
    model_title="EfficientNet-Lite0 (Google's ImageNet weights; a test instrument, not a GoogLeNet)",
    backend="onnxruntime", image_sets=(SAMPLES, VAL_SAMPLE), google=GOOGLE, timm=TIMM, caveat=CAVEAT)
