"""Where gradients go: nowhere (one process) or MXNet's parameter-server kvstore (``dist_sync`` /
``dist_async``, the latter being the paper's asynchronous SGD).

A distributed worker is an ordinary ``repro train`` process started with the ``DMLC_*`` environment
of a launcher (:mod:`repro.train.launcher` on one machine; ssh, MPI or Slurm across machines). The
Gluon Trainer with ``update_on_kvstore`` sends the optimizer to the servers (``kv.set_optimizer``), so
the servers hold the weights and apply every update; workers push gradients and pull weights.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import mxnet as mx
from mxnet.gluon import Parameter

from repro.errors import ReproError

KVSTORES = ("local", "dist_sync", "dist_async")
DMLC_REQUIRED = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_WORKER", "DMLC_NUM_SERVER")


@dataclass(frozen=True)
class Distribution:
    """This process's place in the training job."""

    kvstore: mx.kv.KVStore | None  # None: one local process
    rank: int
    workers: int

    @property
    def asynchronous(self) -> bool:
        """True for dist_async: every worker's push is applied on its own."""
        return self.kvstore is not None and "async" in self.kvstore.type

    @property
    def distributed(self) -> bool:
        """True under a parameter server."""
        return self.kvstore is not None

    def gradient_normaliser(self, batch_size: int) -> int:
        """What ``Trainer.step`` divides the summed gradient by: in dist_sync the servers add the
        gradients of all workers before one update, so the global batch; otherwise the worker's batch."""
        return batch_size * self.workers if self.distributed and not self.asynchronous else batch_size

    def updates_per_step(self) -> int:
        """Server-side optimizer updates per worker step (the schedule counts those): one in dist_sync
        (one aggregated update per step), one per worker in dist_async and locally."""
        return self.workers if self.asynchronous else 1

    def pull_weights(self, params: list[Parameter]) -> None:
        """After all workers finished: wait for every push, meet at a barrier, then read the final
        weights from the servers (keys are positions in ``params``, as the Trainer was given them)."""
        if self.kvstore is None:
            return
        mx.nd.waitall()
        self.kvstore._barrier()  # MXNet's own worker barrier; public API has no other
        for key, param in enumerate(params):
            self.kvstore.pull(key, out=param.list_data())
        mx.nd.waitall()


def create_distribution(kvstore: str) -> Distribution:
    """The distribution for ``--kvstore``: ``local``, ``dist_sync`` or ``dist_async``."""
    if kvstore not in KVSTORES:
        raise ReproError(f"unknown --kvstore {kvstore!r}; choose one of {', '.join(KVSTORES)}")
    if kvstore == "local":
        return Distribution(None, 0, 1)
    missing = [name for name in DMLC_REQUIRED if not os.environ.get(name)]
    if missing or os.environ.get("DMLC_ROLE") != "worker":
        raise ReproError(f"--kvstore {kvstore} needs the DMLC_* environment of a worker process "
                         f"({'missing ' + ', '.join(missing) if missing else 'DMLC_ROLE is not worker'}); "
                         f"start it with `repro launch --workers N -- <command>` or as the README's "
                         f"multi-machine section shows")
    store = mx.kv.create(kvstore)
    return Distribution(store, store.rank, store.num_workers)
