"""The networks of a training run: the one trained (aux heads on) and its Polyak-averaged inference twin."""
from __future__ import annotations

import mxnet as mx
from mxnet.gluon import HybridBlock

from repro.errors import ReproError
from repro.models.specs import MODELS, ModelSpec
from repro.models.weights import initialize_random


def build_networks(model: str, classes: int, width: float, input_size: int, init_seed: int,
                   ) -> tuple[ModelSpec, HybridBlock, HybridBlock]:
    """``(spec, net, average)``: the seeded training network with aux heads, and an inference network
    of the same architecture (no aux heads) to hold the Polyak average."""
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
    average = spec.create(classes=classes, width=width, aux=False)
    initialize_random(average, seed=init_seed, input_size=input_size)
    return spec, net, average
