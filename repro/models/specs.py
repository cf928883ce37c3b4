"""Model specs by id: how to build each GoogLeNet variant, its input normalisation and its deviations.

A spec is declarative (DESIGN principle 3): the architecture builder, the Table 1 row mapping for the
counter, the input convention (mean/std in 0-255 units, channel order) and the deviations from the
paper as data. Weights are a separate concern (:mod:`repro.models.weights`).
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
))
