"""The model behind the engine's tiny interface: uint8 RGB crops in, softmax probabilities out.

Normalisation (channel order, mean, std) and the NHWC->NCHW layout change happen inside the
hybridized graph, so the data pipeline only ever moves uint8 crops (4x less memory than float32).
"""
from __future__ import annotations

import warnings

import mxnet as mx
from mxnet.gluon import HybridBlock

from repro.models.specs import ModelSpec


class Normalized(HybridBlock):
    """``(N, S, S, 3)`` uint8 RGB -> the network's outputs, its spec's input convention in the graph.

    Training (logits, aux heads) and evaluation (:class:`Classifier`) feed networks through this one
    block, so both see identical inputs.
    """

    def __init__(self, net: HybridBlock, spec: ModelSpec, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        with self.name_scope():
            self.net = net
            self.mean = self.params.get_constant("mean", mx.nd.array(spec.mean).reshape(1, 1, 1, 3))
            self.std = self.params.get_constant("std", mx.nd.array(spec.std).reshape(1, 1, 1, 3))

    def forward(self, x, *args):
        with warnings.catch_warnings():
            # Tracing an inference graph of a network built with aux heads leaves their parameters
            # unused, by design (GoogLeNetPaper filters the same warning when it is outermost).
            warnings.filterwarnings("ignore", message=".*is not used by any computation")
            return super().forward(x, *args)

    def hybrid_forward(self, F, x, mean, std):
        x = F.cast(x, "float32")
        if self.spec.channel_order == "BGR":
            x = F.reverse(x, axis=3)
        x = F.broadcast_div(F.broadcast_sub(x, mean), std)
        return self.net(F.transpose(x, axes=(0, 3, 1, 2)))


class Classifier(Normalized):
    """Wraps a logits network: ``(N, C, C, 3)`` uint8 RGB -> ``(N, classes)`` float32 softmax."""

    def hybrid_forward(self, F, x, mean, std):
        return F.softmax(super().hybrid_forward(F, x, mean, std), axis=-1)


def prepare_for_inference(classifier: Classifier, ctx: mx.Context = mx.cpu()) -> Classifier:
    """Initialise the normalisation constants and hybridize with static memory and shapes."""
    classifier.mean.initialize(ctx=ctx)
    classifier.std.initialize(ctx=ctx)
    classifier.hybridize(static_alloc=True, static_shape=True)
    return classifier
