"""Move weights between a Gluon network and a PyTorch state dict, by a name mapping.

An architecture supplies one function, ``torch_name(gluon_name) -> str``: the state-dict key of each
Gluon parameter (structural names, as ``save_parameters`` writes them; BatchNorm's gamma/beta are
torch's weight/bias). Import checks everything before writing anything: every Gluon parameter must be
in the state dict with its shape, and every state-dict entry must be used, except BatchNorm's
``num_batches_tracked`` counters and the ``optional`` prefixes (e.g. the aux heads of a file loaded
into an inference network). An import succeeds or changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock

from repro.errors import ReproError

TorchNames = Callable[[str], str]
BATCHNORM_NAMES = {"gamma": "weight", "beta": "bias", "running_mean": "running_mean",
                   "running_var": "running_var"}


@dataclass(frozen=True)
class StateDictReport:
    """What :func:`import_state_dict` wrote and left out."""

    loaded: int  # state-dict tensors written into the network
    skipped: tuple[str, ...]  # entries without a counterpart that were allowed to be absent
    parameters: int  # scalars written


def unique_parameters(net: HybridBlock) -> dict[str, mx.gluon.Parameter]:
    """Structural name -> parameter, each parameter once (a block registered twice keeps its first
    name, e.g. GluonCV googlenet's ``head.2`` / ``output``)."""
    seen, out = set(), {}
    for name, param in net._collect_params_with_prefix().items():
        if id(param) not in seen:
            seen.add(id(param))
            out[name] = param
    return out


def torch_key_table(net: HybridBlock, torch_name: TorchNames) -> dict[str, tuple[str, mx.gluon.Parameter]]:
    """State-dict key -> (Gluon name, parameter) for every parameter of ``net``."""
    table: dict[str, tuple[str, mx.gluon.Parameter]] = {}
    for name, param in unique_parameters(net).items():
        key = torch_name(name)
        if key in table:
            raise ValueError(f"{name} and {table[key][0]} both map to {key}")  # a mapping bug
        table[key] = (name, param)
    return table


def import_state_dict(net: HybridBlock, state: Mapping[str, np.ndarray], torch_name: TorchNames,
                      source: str, optional: tuple[str, ...] = ()) -> StateDictReport:
    """Write ``state`` (a state dict read by :mod:`repro.models.torch_checkpoint`) into ``net``.

    ``net`` must be initialised and materialised. Errors name ``source``, the entry and what to do.
    """
    table = torch_key_table(net, torch_name)
    unshaped = [name for name, param in table.values() if 0 in param.shape]
    if unshaped:
        raise ReproError(f"parameter {unshaped[0]!r} has no shape yet: initialise and materialise "
                         f"the network first (repro.models.weights.initialize_random)")
    for key, (name, param) in table.items():
        if key not in state:
            raise ReproError(f"{source} has no entry {key!r} (for {name}, shape {param.shape}): it "
                             f"is a state dict of another architecture")
        array = state[key]
        if tuple(array.shape) != tuple(param.shape):
            raise ReproError(f"{source}: entry {key!r} has shape {tuple(array.shape)}, the network "
                             f"expects {tuple(param.shape)}: wrong architecture or number of classes")
        if array.dtype.kind != "f":
            raise ReproError(f"{source}: entry {key!r} is {array.dtype}, not floating point")
    skipped, extra = [], []
    for key in state:
        if key in table:
            continue
        if key.endswith("num_batches_tracked") or key.startswith(optional):
            skipped.append(key)
        else:
            extra.append(key)
    if extra:
        raise ReproError(f"{source} has {len(extra)} entries this network does not have, first "
                         f"{extra[0]!r}: it is a state dict of another architecture")
    for key, (_, param) in table.items():
        param.set_data(mx.nd.array(state[key], dtype=param.dtype))
    return StateDictReport(loaded=len(table), skipped=tuple(skipped),
                           parameters=sum(int(state[key].size) for key in table))


def export_state_dict(net: HybridBlock, torch_name: TorchNames) -> dict[str, np.ndarray]:
    """``net``'s parameters under their state-dict names (network order), for ``torch.load``."""
    return {key: param.data().asnumpy() for key, (_, param) in torch_key_table(net, torch_name).items()}


def batchnorm_name(gluon_leaf: str) -> str:
    """A Gluon parameter's last name component under torch's name (gamma -> weight, ...)."""
    return BATCHNORM_NAMES.get(gluon_leaf, gluon_leaf)
