"""GoogLeNet exactly as in Table 1 and Section 5 of Szegedy et al. (2014), in Gluon.

Real 5x5 branches, LRN after pool1 and after conv2's 3x3 (size 5, alpha 1e-4, beta 0.75, k 1, the
BVLC Caffe replication's values), no BatchNorm, ReLU after every convolution, dropout 0.4 before the
classifier, and the two auxiliary heads on 4a and 4d (training only). Max pools use Caffe's ceil
rounding so a 224 input gives the 112/56/28/14/7 maps of Table 1. The final 7x7 average pool is a
global average pool, identical at 224 and still defined for other input sizes.

Every top-level child is one row of Table 1 (``TABLE1_ROWS``), so the counter in
:mod:`repro.models.counting` attributes parameters and multiply-adds without a hand-written list.
"""
from __future__ import annotations

import warnings

from mxnet import autograd
from mxnet.gluon import HybridBlock, nn
from mxnet.gluon.contrib.nn import HybridConcurrent

#: Inception widths from Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
INCEPTION_WIDTHS = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}

#: Table 1 rows in order: (row label as printed, names of the top-level children forming the row).
TABLE1_ROWS = (
    ("conv1", ("conv1",)), ("max pool", ("pool1",)), ("conv2", ("conv2",)), ("max pool", ("pool2",)),
    ("inception 3a", ("inception3a",)), ("inception 3b", ("inception3b",)), ("max pool", ("pool3",)),
    ("inception 4a", ("inception4a",)), ("inception 4b", ("inception4b",)),
    ("inception 4c", ("inception4c",)), ("inception 4d", ("inception4d",)),
    ("inception 4e", ("inception4e",)), ("max pool", ("pool4",)),
    ("inception 5a", ("inception5a",)), ("inception 5b", ("inception5b",)),
    ("avg pool", ("avgpool",)), ("dropout 40%", ("dropout",)), ("linear", ("linear",)),
)

LRN = dict(alpha=1e-4, beta=0.75, knorm=1.0, nsize=5)


def scaled(channels: int, width: float) -> int:
    """A channel count under the width multiplier (at least 1)."""
    return max(1, int(round(channels * width)))


class LocalResponseNorm(HybridBlock):
    """Cross-channel LRN over ``channels`` channels; MXNet's ``LRN`` divides alpha by the size, as
    Caffe does: ``x / (k + alpha / n * sum of x^2 over the n-channel window) ** beta``.

    An inference graph runs MXNet's ``LRN`` operator. A training graph (traced under
    ``autograd.is_training()``, like the aux heads) computes the same function from a square, a 1x1
    convolution with a fixed band of ones (the window's sum) and elementwise operators, because MXNet
    1.9's CPU ``_backward_LRN`` is slow: it was 45% of a training step of width-0.25 googlenet-paper
    at 80 px, batch 16 (53 ms a step with it, 29 ms with LRN as the identity, NaiveEngine, one
    thread). The two agree within float32 rounding (tests/unit/test_models.py).
    """

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def hybrid_forward(self, F, x):
        if not autograd.is_training():
            return F.LRN(x, **LRN)
        half = LRN["nsize"] // 2
        band = F.eye(self.channels, k=-half)
        for diagonal in range(-half + 1, half + 1):
            band = band + F.eye(self.channels, k=diagonal)
        window = F.Convolution(F.square(x), F.reshape(band, shape=(self.channels, self.channels, 1, 1)),
                               kernel=(1, 1), num_filter=self.channels, no_bias=True)
        return x / ((LRN["knorm"] + LRN["alpha"] / LRN["nsize"] * window) ** LRN["beta"])


def _conv(channels: int, kernel: int, stride: int = 1, pad: int = 0) -> nn.Conv2D:
    return nn.Conv2D(channels, kernel, strides=stride, padding=pad, activation="relu")


def _max_pool(size: int = 3, stride: int = 2, pad: int = 0) -> nn.MaxPool2D:
    return nn.MaxPool2D(size, stride, pad, ceil_mode=True)


def _inception(widths: tuple[int, ...], width: float) -> HybridConcurrent:
    n1, n3r, n3, n5r, n5, proj = (scaled(c, width) for c in widths)
    block = HybridConcurrent(axis=1, prefix="")
    branches = ([_conv(n1, 1)], [_conv(n3r, 1), _conv(n3, 3, pad=1)],
                [_conv(n5r, 1), _conv(n5, 5, pad=2)], [_max_pool(3, 1, 1), _conv(proj, 1)])
    for layers in branches:
        branch = nn.HybridSequential(prefix="")
        branch.add(*layers)
        block.add(branch)
    return block


def _aux_head(classes: int, width: float) -> nn.HybridSequential:
    head = nn.HybridSequential(prefix="")
    head.add(nn.AvgPool2D(5, 3, ceil_mode=True), _conv(scaled(128, width), 1), nn.Flatten(),
             nn.Dense(scaled(1024, width), activation="relu"), nn.Dropout(0.7), nn.Dense(classes))
    return head


class GoogLeNetPaper(HybridBlock):
    """The paper's GoogLeNet. ``width`` scales every channel count (1.0 = the paper).

    In training mode (``autograd.record(train_mode=True)``) with ``aux=True`` the forward returns
    ``(main, aux_4a, aux_4d)`` logits; in inference mode it returns the main logits only and the
    auxiliary heads are not part of the computed graph.
    """

    def __init__(self, classes: int = 1000, width: float = 1.0, aux: bool = True,
                 dropout: float = 0.4, **kwargs):
        super().__init__(**kwargs)
        self.classes, self.width, self.aux = classes, width, aux
        self._traced_training: bool | None = None
        w = lambda c: scaled(c, width)  # noqa: E731 - local shorthand for the table below
        with self.name_scope():
            self.conv1 = _conv(w(64), 7, 2, 3)
            self.pool1 = nn.HybridSequential(prefix="pool1_")
            self.pool1.add(_max_pool(), LocalResponseNorm(w(64)))
            self.conv2 = nn.HybridSequential(prefix="conv2_")
            self.conv2.add(_conv(w(64), 1), _conv(w(192), 3, pad=1), LocalResponseNorm(w(192)))
            self.pool2 = _max_pool()
            for name in ("3a", "3b"):
                setattr(self, f"inception{name}", _inception(INCEPTION_WIDTHS[name], width))
            self.pool3 = _max_pool()
            for name in ("4a", "4b", "4c", "4d", "4e"):
                setattr(self, f"inception{name}", _inception(INCEPTION_WIDTHS[name], width))
            self.pool4 = _max_pool()
            for name in ("5a", "5b"):
                setattr(self, f"inception{name}", _inception(INCEPTION_WIDTHS[name], width))
            self.avgpool = nn.GlobalAvgPool2D()
            self.dropout = nn.Dropout(dropout)
            self.linear = nn.Dense(classes)
            if aux:
                self.aux1 = _aux_head(classes, width)
                self.aux2 = _aux_head(classes, width)

    def classifier_layers(self) -> list[nn.Dense]:
        """The layers that output class scores: the main classifier, then the auxiliary heads' last."""
        return [self.linear, *((self.aux1[-1], self.aux2[-1]) if self.aux else ())]

    def forward(self, x, *args):
        # A hybridized graph is traced once; the aux heads exist only in the training graph, so a
        # change of mode re-traces instead of reusing the other mode's cached graph.
        training = autograd.is_training()
        if self.aux and self._active and training != self._traced_training:
            self._clear_cached_op()
        self._traced_training = training
        with warnings.catch_warnings():
            # Tracing the inference graph leaves the aux-head parameters unused, by design.
            warnings.filterwarnings("ignore", message=".*is not used by any computation")
            return super().forward(x, *args)

    def hybrid_forward(self, F, x):
        x = self.pool2(self.conv2(self.pool1(self.conv1(x))))
        x = self.pool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        with_aux = self.aux and autograd.is_training()
        aux1 = self.aux1(x) if with_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if with_aux else None
        x = self.pool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.linear(self.dropout(self.avgpool(x)))
        return (logits, aux1, aux2) if with_aux else logits
