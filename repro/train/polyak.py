"""Polyak averaging of the weights: the inference network whose parameters are the running average."""
from __future__ import annotations

import mxnet as mx
from mxnet.gluon import HybridBlock


class PolyakAverage:
    """Exponential moving average of a training network's weights, held in an inference network.

    ``average`` has the inference architecture (no auxiliary heads); its parameters are matched to
    the training network's by structural name, so the aux heads are not averaged. After ``t`` updates
    the decay is ``min(decay, (1 + t) / (10 + t))`` (TensorFlow's ExponentialMovingAverage warm-up).
    """

    def __init__(self, average: HybridBlock, trained: HybridBlock, decay: float, updates: int = 0):
        self.average, self.decay, self.updates = average, decay, updates
        own = average._collect_params_with_prefix()  # the structural names save_parameters writes
        source = trained._collect_params_with_prefix()
        self._pairs = [(own[name], source[name]) for name in own]

    def reset(self) -> None:
        """Start the average at the training network's current weights."""
        for mine, theirs in self._pairs:
            mine.set_data(theirs.data())

    def current_decay(self) -> float:
        """The decay the next update uses."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    def update(self) -> None:
        """Fold the training network's current weights into the average (call after every step)."""
        decay = self.current_decay()
        for mine, theirs in self._pairs:
            average = mine.data()
            mx.nd.elemwise_add(average * decay, theirs.data() * (1.0 - decay), out=average)
        self.updates += 1
