"""Execution backends: how a loaded model turns a batch of uint8 crops into probabilities.

Every backend is a callable ``predict(batch) -> probs`` with ``batch`` an ``(N, C, C, 3)`` uint8 RGB
numpy array and ``probs`` an ``(N, classes)`` float32 numpy array, built once per model and run with
a fixed batch shape. The engine only knows this interface; precision modes and other runtimes are
added here without touching it.
"""
from __future__ import annotations

from typing import Callable

import mxnet as mx
import numpy as np

from repro.errors import ReproError
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.refs import LoadedModel
from repro.registry import Registry

Predictor = Callable[[np.ndarray], np.ndarray]
BackendFactory = Callable[[LoadedModel, tuple, tuple[int, ...]], Predictor]

BACKENDS: Registry[BackendFactory] = Registry("execution backend")


def _mxnet(model: LoadedModel, ctxs: tuple, batch_shape: tuple[int, ...]) -> Predictor:
    """MXNet fp32, hybridized with static memory and shapes; batches split across contexts."""
    model.net.collect_params().reset_ctx(list(ctxs))
    classifier = prepare_for_inference(Classifier(model.net, model.spec), ctxs[0])
    if len(ctxs) > 1:
        classifier.collect_params().reset_ctx(list(ctxs))

    def predict(batch: np.ndarray) -> np.ndarray:
        data = mx.nd.array(batch, dtype="uint8", ctx=ctxs[0])
        if len(ctxs) == 1:
            return classifier(data).asnumpy()
        parts = mx.gluon.utils.split_and_load(data, list(ctxs), even_split=False)
        return np.concatenate([classifier(part).asnumpy() for part in parts])
    return predict


BACKENDS.register("mxnet", _mxnet)


def build_predictor(model: LoadedModel, backend: str, ctxs: tuple,
                    batch_shape: tuple[int, ...]) -> Predictor:
    """The predictor of ``model`` under ``backend`` for batches of ``batch_shape``."""
    factory = BACKENDS.get(backend)
    if batch_shape[-1] != 3 or len(batch_shape) != 4:
        raise ReproError(f"batches are (N, C, C, 3) uint8 crops, not {batch_shape}")
    return factory(model, ctxs, batch_shape)
