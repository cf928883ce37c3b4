"""torchvision's GoogLeNet as a Gluon network, and torchvision's weights file mapped onto it.

**It is GluonCV's graph.** Read side by side (gluoncv/model_zoo/googlenet.py, torchvision
models/googlenet.py), the two networks have the same layers in the same order with the same
settings: BatchNorm (eps 1e-3) after every bias-free convolution, no LRN, 3x3 where the paper has
5x5, 3x3/2 ceil-mode stage pools, the same widths and branch order. At 224x224 inference they compute
the same function; the differences (listed in the spec's deviations) are torchvision's
``transform_input`` (added here), pool4's rounding and the final pool (identical on the 14x14 and 7x7
maps of a 224 input; GluonCV's fixed 7x7 average pool only fits 224), the dropout rate (0.2 vs 0.4,
inactive at inference) and the aux heads' pooling (adaptive 4x4 vs 5x5/3, training only). So the
network is GluonCV's ``GoogLeNet`` with the input transform in front — one graph, two weight
mappings (GluonCV's ``.params`` names and torchvision's state-dict names, :func:`torchvision_name`).

``transform_input=True`` (what torchvision sets for its ImageNet weights): the network takes
ImageNet mean/std-normalised input and re-normalises it to ``(x - 0.5) / 0.5`` with torchvision's
own constants and operation order, channel by channel.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import mxnet as mx
from gluoncv.model_zoo.googlenet import GoogLeNet

from repro.errors import ReproError
from repro.models.state_dict_import import batchnorm_name

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's constants, 0-1 units
IMAGENET_STD = (0.229, 0.224, 0.225)
WEIGHTS_FILE = "googlenet-1378be20.pth"  # torchvision GoogLeNet_Weights.IMAGENET1K_V1
WEIGHTS_SHA256_PREFIX = "1378be20"  # torch.hub's check: the file name carries its hash's start


class GoogLeNetTorchvision(GoogLeNet):
    """GluonCV's ``GoogLeNet`` graph with torchvision's ``transform_input`` before ``conv1``."""

    def __init__(self, classes: int = 1000, aux: bool = False, transform_input: bool = True,
                 **kwargs):
        super().__init__(classes=classes, aux_logits=aux, dropout_ratio=0.2, pretrained_base=False,
                         **kwargs)
        self.transform_input = transform_input

    def hybrid_forward(self, F, x):
        if self.transform_input:  # torchvision GoogLeNet._transform_input, term for term
            x = F.concat(*(F.slice_axis(x, axis=1, begin=c, end=c + 1) * (std / 0.5)
                           + (mean - 0.5) / 0.5
                           for c, (mean, std) in enumerate(zip(IMAGENET_MEAN, IMAGENET_STD))),
                         dim=1)
        return super().hybrid_forward(F, x)


_BASIC = {"0": "conv", "1": "bn"}  # GluonCV basic conv: Conv2D, BatchNorm, ReLU


def _basic(torch_prefix: str, position: str, leaf: str) -> str:
    return f"{torch_prefix}.{_BASIC[position]}.{batchnorm_name(leaf)}"


def torchvision_name(gluon_name: str) -> str:
    """torchvision's state-dict key for a structural parameter name of the GluonCV graph."""
    if m := re.fullmatch(r"(conv[123])\.([01])\.(\w+)", gluon_name):
        return _basic(m[1], m[2], m[3])
    if m := re.fullmatch(r"(inception\d[a-e])\.([0-3])\.([01])\.([01])\.(\w+)", gluon_name):
        stage, branch, layer = m[1], int(m[2]) + 1, m[3]
        # torchvision: branch1 is a bare BasicConv2d; branch4's conv follows its max pool (index 1)
        where = f"branch{branch}" if branch == 1 else f"branch{branch}.{layer}"
        return _basic(f"{stage}.{where}", m[4], m[5])
    if m := re.fullmatch(r"(aux[12])\.1\.([01])\.(\w+)", gluon_name):
        return _basic(f"{m[1]}.conv", m[2], m[3])
    if m := re.fullmatch(r"(aux[12])\.([36])\.(weight|bias)", gluon_name):
        return f"{m[1]}.{'fc1' if m[2] == '3' else 'fc2'}.{m[3]}"
    if m := re.fullmatch(r"(?:output|head\.2)\.(weight|bias)", gluon_name):
        return f"fc.{m[1]}"
    raise ValueError(f"no torchvision name for {gluon_name}")  # the graph changed: a mapping bug


def torch_hub_dir() -> Path:
    """torch.hub's checkpoint cache: ``$TORCH_HOME/hub/checkpoints`` (default
    ``$XDG_CACHE_HOME/torch``, i.e. ``~/.cache/torch``), as torch computes it."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(os.path.expanduser(home)) / "hub" / "checkpoints"


def torchvision_weights(root: Path | None = None) -> Path:
    """torchvision's ``googlenet-1378be20.pth`` in the torch hub cache, checked by its SHA-256
    prefix; never downloaded: absence is a one-line error naming the file and the directory."""
    root = Path(root) if root else torch_hub_dir()
    path = root / WEIGHTS_FILE
    if not path.is_file():
        raise ReproError(f"torchvision GoogLeNet weights not found: put {WEIGHTS_FILE} (torchvision "
                         f"GoogLeNet_Weights.IMAGENET1K_V1) in {root} (set TORCH_HOME to use another "
                         f"cache), or give the file: googlenet-torchvision:PATH.pth")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
        raise ReproError(f"{path} has sha256 {digest[:16]}..., expected {WEIGHTS_SHA256_PREFIX}...: "
                         f"the file is corrupt or not torchvision's; replace it")
    return path


def load_pretrained(net: GoogLeNetTorchvision, ctx: mx.Context = mx.cpu(),
                    allow_download: bool = False) -> Path:
    """Load torchvision's ImageNet weights from the hub cache into a materialised ``net``."""
    from repro.models.state_dict_import import import_state_dict
    from repro.models.torch_checkpoint import load_state_dict

    path = torchvision_weights()
    import_state_dict(net, load_state_dict(path), torchvision_name, str(path),
                      optional=("aux1.", "aux2."))
    return path
