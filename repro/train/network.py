"""The networks of a training run: the one trained (aux heads on) and its Polyak-averaged inference twin."""
from __future__ import annotations

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock

from repro.errors import ReproError
from repro.models.specs import MODELS, ModelSpec
from repro.models.weights import initialize_random

CLASSIFIER_INIT_STREAM = 4


def build_networks(model: str, classes: int, width: float, input_size: int, init_seed: int,
                   classifier_init_std: float | None = None) -> tuple[ModelSpec, HybridBlock, HybridBlock]:
    """``(spec, net, average)``: the seeded training network with aux heads, and an inference network
    of the same architecture (no aux heads) to hold the Polyak average. With ``classifier_init_std``
    the classifier layers are re-initialised (:func:`initialize_classifiers`)."""
    spec = MODELS.get(model)
    net = spec.create(classes=classes, width=width, aux=True)
    try:
        initialize_random(net, seed=init_seed, input_size=input_size)
    except mx.MXNetError as exc:
        raise ReproError(f"model {model} cannot train at input size {input_size}: "
                         f"{str(exc).splitlines()[-1]} (the auxiliary heads' 5x5 pool needs 4a's map to be at "
                         f"least 5x5: googlenet-paper needs an input of at least 79 px)") from exc
    with mx.autograd.train_mode():
        outputs = net(mx.nd.zeros((1, 3, input_size, input_size)))
    if not isinstance(outputs, (tuple, list)) or len(outputs) != 3:
        raise ReproError(f"model {model} does not return (main, aux1, aux2) in training mode; "
                         f"train googlenet-paper")
    if classifier_init_std is not None:
        initialize_classifiers(net, classifier_init_std, init_seed)
    average = spec.create(classes=classes, width=width, aux=False)
    initialize_random(average, seed=init_seed, input_size=input_size)
    return spec, net, average


def initialize_classifiers(net: HybridBlock, std: float, seed: int) -> None:
    """Weights of the network's classifier layers (``net.classifier_layers()``: main and auxiliary)
    drawn from N(0, ``std``) (zeros for 0) with a generator keyed by ``seed``; biases zero. Small
    initial logits start the loss at ln(classes) instead of at several times that."""
    layers = getattr(net, "classifier_layers", None)
    if layers is None:
        raise ReproError(f"{type(net).__name__} does not name its classifier layers; a classifier "
                         f"initialisation needs googlenet-paper")
    for position, layer in enumerate(layers()):
        rng = np.random.default_rng([seed, CLASSIFIER_INIT_STREAM, position])
        weight = layer.weight.data()
        layer.weight.set_data(mx.nd.array(rng.normal(0.0, std, weight.shape) if std > 0 else
                                          np.zeros(weight.shape), dtype=weight.dtype))
        layer.bias.set_data(mx.nd.zeros(layer.bias.shape, dtype=layer.bias.dtype))
