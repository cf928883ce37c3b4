"""Parameters and multiply-adds per Table 1 row, counted by walking the Gluon graph.

Forward hooks on every ``Conv2D`` and ``Dense`` below each row's blocks record the multiply-adds of
one image; parameters are the row blocks' trainable parameters (weights and biases; BatchNorm's
gamma/beta count, its running statistics do not). Output shapes are those of the row's last block.
Pools, LRN, ReLU and dropout cost no multiply-adds, as in the paper's ops column.
"""
from __future__ import annotations

from dataclasses import dataclass

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock, nn


@dataclass(frozen=True)
class RowCount:
    """One Table 1 row as computed from the network."""

    layer: str
    output: str  # HxWxC, as Table 1 prints it
    params: int
    macs: int


def _macs(block, output) -> int:
    weight = block.weight.data()
    if isinstance(block, nn.Conv2D):
        _, channels, height, width = output.shape
        return int(height * width * channels * np.prod(weight.shape[1:]))
    return int(np.prod(weight.shape))  # Dense: units x in_units


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 4:
        return f"{shape[2]}x{shape[3]}x{shape[1]}"
    return f"1x1x{shape[1]}"


def _trainable(block: HybridBlock) -> int:
    return sum(int(np.prod(p.shape)) for p in block.collect_params().values() if p.grad_req != "null")


def count_rows(net: HybridBlock, rows: tuple[tuple[str, tuple[str, ...]], ...],
               input_size: int = 224) -> list[RowCount]:
    """Count every row of ``rows`` (label, child names) on an initialised, non-hybridized ``net``."""
    macs = [0] * len(rows)
    outputs: list[tuple[int, ...] | None] = [None] * len(rows)
    handles = []

    def leaf_hook(index):
        def hook(block, _inputs, output):
            macs[index] += _macs(block, output)
        return hook

    def row_hook(index):
        def hook(_block, _inputs, output):
            outputs[index] = output.shape
        return hook

    def attach(index, block):
        if isinstance(block, (nn.Conv2D, nn.Dense)):
            handles.append(block.register_forward_hook(leaf_hook(index)))

    for index, (_, names) in enumerate(rows):
        for name in names:
            getattr(net, name).apply(lambda b, i=index: attach(i, b))
        handles.append(getattr(net, names[-1]).register_forward_hook(row_hook(index)))
    try:
        with mx.autograd.predict_mode():
            net(mx.nd.zeros((1, 3, input_size, input_size)))
    finally:
        for handle in handles:
            handle.detach()
    return [RowCount(label, _shape_text(outputs[i]), sum(_trainable(getattr(net, n)) for n in names),
                     macs[i]) for i, (label, names) in enumerate(rows)]
