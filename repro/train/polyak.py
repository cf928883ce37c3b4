"""Polyak averaging of the weights: the inference network whose parameters are the running average."""
from __future__ import annotations

import mxnet as mx
from mxnet.gluon import HybridBlock

#: Weights per ``multi_sgd_update`` call: MXNet 1.9's multi-tensor kernels take at most 60 (more crash).
FUSED_WEIGHTS = 60


class PolyakAverage:
    """Exponential moving average of a training network's weights, held in an inference network.

    ``average`` has the inference architecture (no auxiliary heads); its parameters are matched to
    the training network's by structural name, so the aux heads are not averaged. After ``t`` updates
    the decay is ``min(decay, (1 + t) / (10 + t))`` (TensorFlow's ExponentialMovingAverage warm-up).

    An update is ``average -= (1 - decay) * (average - weight)``, computed by MXNet's multi-tensor SGD
    kernel (``multi_sgd_update`` with the weights as the "gradients": learning rate 1, weight decay
    ``1 - decay``, gradient scale ``-(1 - decay)``), 60 parameters per call: two calls a step instead of
    three operators per parameter (348 for width-0.25 googlenet-paper, 12 of a 96 ms training step at
    batch 16 on one Xeon core). It rounds differently from ``decay * average + (1 - decay) * weight``
    (float32, a few ulp); the training trajectory does not depend on it.
    """

    def __init__(self, average: HybridBlock, trained: HybridBlock, decay: float, updates: int = 0):
        self.average, self.decay, self.updates = average, decay, updates
        own = average._collect_params_with_prefix()  # the structural names save_parameters writes
        source = trained._collect_params_with_prefix()
        self._pairs = [(own[name], source[name]) for name in own]
        self._chunks = [self._pairs[i:i + FUSED_WEIGHTS] for i in range(0, len(self._pairs), FUSED_WEIGHTS)]

    def reset(self) -> None:
        """Start the average at the training network's current weights."""
        for mine, theirs in self._pairs:
            mine.set_data(theirs.data())

    def current_decay(self) -> float:
        """The decay the next update uses."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    def update(self) -> None:
        """Fold the training network's current weights into the average (call after every step)."""
        rate = 1.0 - self.current_decay()
        for chunk in self._chunks:
            arrays = [(mine.data(), theirs.data()) for mine, theirs in chunk]
            mx.nd.multi_sgd_update(*[a for pair in arrays for a in pair], out=[a for a, _ in arrays],
                                   lrs=(1.0,) * len(chunk), wds=(rate,) * len(chunk),
                                   rescale_grad=-rate, num_weights=len(chunk))
        self.updates += 1
