"""Per-epoch checkpoints that survive SIGKILL: a directory written under a temporary name, then renamed.

``OUT/checkpoint-eNNN/`` holds the training network (``net.params``, aux heads included), the Polyak
average (``polyak.params``), the optimizer state (``trainer.states``: momentum, update count and the
learning-rate scheduler) and ``state.json`` (epochs done, averaging updates, the log rows so far and
the run's configuration). Renaming a directory is atomic, so a checkpoint is either complete or
absent; older ones are removed after a newer one exists.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mxnet import gluon
from mxnet.gluon import HybridBlock

from repro.atomic import write_text

NET_FILE, AVERAGE_FILE, TRAINER_FILE, STATE_FILE = "net.params", "polyak.params", "trainer.states", "state.json"
_NAME = re.compile(r"checkpoint-e(\d{3,})")


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint directory and its ``state.json``."""

    path: Path
    state: dict

    @property
    def epoch(self) -> int:
        """Epochs completed when it was written."""
        return int(self.state["epoch"])


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def save_params(block: HybridBlock, path: Path) -> Path:
    """``block.save_parameters`` to ``path`` atomically (temporary name in the same folder, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        block.save_parameters(tmp)
        _fsync(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def checkpoints(out: Path) -> list[Path]:
    """Complete checkpoint directories under ``out``, oldest first."""
    found = [(int(m.group(1)), p) for p in out.glob("checkpoint-e*") if (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(out: Path) -> Checkpoint | None:
    """The newest complete checkpoint under ``out``, or None."""
    found = checkpoints(out) if out.is_dir() else []
    if not found:
        return None
    return Checkpoint(found[-1], json.loads((found[-1] / STATE_FILE).read_text()))


def save_checkpoint(out: Path, state: dict, net: HybridBlock, average: HybridBlock,
                    trainer: gluon.Trainer | None) -> Checkpoint:
    """Write a checkpoint for ``state["epoch"]`` epochs and remove older ones.

    ``trainer`` is None when its state lives elsewhere (a parameter server); then none is saved.
    """
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".checkpoint-", suffix=".tmp", dir=out))
    try:
        net.save_parameters(str(tmp / NET_FILE))
        average.save_parameters(str(tmp / AVERAGE_FILE))
        if trainer is not None:
            trainer.save_states(str(tmp / TRAINER_FILE))
        for path in tmp.iterdir():
            _fsync(path)
        write_text(tmp / STATE_FILE, json.dumps(state, indent=1, sort_keys=True) + "\n")
        final = out / f"checkpoint-e{int(state['epoch']):03d}"
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for older in checkpoints(out)[:-1]:
        shutil.rmtree(older)
    return Checkpoint(final, state)


def remove_checkpoints(out: Path) -> None:
    """Remove every checkpoint and leftover temporary checkpoint under ``out`` (after a finished run)."""
    for path in [*checkpoints(out), *out.glob(".checkpoint-*.tmp")]:
        shutil.rmtree(path)
