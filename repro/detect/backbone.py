"""Reuse a classification network inside the detector: its feature maps, or a new classifier layer.

Both read the network's structure from its spec's Table 1 mapping (``ModelSpec.table1_rows``: each
printed row and the top-level children that compute it, in order), so they serve the paper's and
GluonCV's GoogLeNet alike without naming their attributes here.
"""
from __future__ import annotations

import mxnet as mx
from mxnet.gluon import HybridBlock, nn

from repro.errors import ReproError
from repro.models.specs import ModelSpec

CLASSIFIER_ROW = "linear"


class FeatureTrunk(HybridBlock):
    """The children of ``net`` up to the last of ``rows`` (Table 1 row labels, in network order),
    returning the output of each of ``rows``. Parameters are shared with ``net``."""

    def __init__(self, net: HybridBlock, spec: ModelSpec, rows: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        labels = [label for label, _ in spec.table1_rows]
        missing = [row for row in rows if row not in labels]
        if missing:
            raise ReproError(f"model {spec.id} has no Table 1 row {missing[0]!r}; rows: {labels}")
        last = max(labels.index(row) for row in rows)
        self._stages = []  # (row label, child names)
        for label, children in spec.table1_rows[:last + 1]:
            for child in children:
                self.register_child(getattr(net, child), child)
            self._stages.append((label, children))
        self._wanted = tuple(rows)

    def hybrid_forward(self, F, x):
        outputs = []
        for label, children in self._stages:
            for child in children:
                x = self._children[child](x)
            if label in self._wanted:
                outputs.append(x)
        return tuple(outputs)


def classifier_child(spec: ModelSpec) -> str:
    """Attribute name of the network's final classifier layer (Table 1's ``linear`` row)."""
    rows = dict(spec.table1_rows)
    if CLASSIFIER_ROW not in rows or len(rows[CLASSIFIER_ROW]) != 1:
        raise ReproError(f"model {spec.id}: Table 1 mapping has no single '{CLASSIFIER_ROW}' child")
    return rows[CLASSIFIER_ROW][0]


def replace_classifier(net: HybridBlock, spec: ModelSpec, classes: int, seed: int,
                       ctx: mx.Context = mx.cpu()) -> None:
    """Give ``net`` a new, randomly initialised ``classes``-way classifier layer (R-CNN's step before
    fine-tuning); the rest of the network keeps its weights."""
    name = classifier_child(spec)
    old = getattr(net, name)
    in_units = old.weight.shape[1]
    with net.name_scope():
        layer = nn.Dense(classes, in_units=in_units, prefix=f"{name}_det_")
    mx.random.seed(seed)
    layer.initialize(mx.init.Normal(0.01), ctx=ctx)
    setattr(net, name, layer)
    net._clear_cached_op()
