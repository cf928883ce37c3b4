"""Weight sources: seeded random initialisation, checked `.params` files, GluonCV's model store.

Nothing here downloads unless the caller asks for it explicitly (``allow_download=True``): a missing
GluonCV file is a one-line error saying where to put it, under which name, with which SHA-1.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import mxnet as mx
from mxnet.gluon import HybridBlock

from repro.errors import ReproError


def materialize(net: HybridBlock, input_size: int, ctx: mx.Context = mx.cpu()) -> None:
    """Run one training-mode forward so every deferred parameter (aux heads included) has a shape."""
    with mx.autograd.train_mode():
        net(mx.nd.zeros((1, 3, input_size, input_size), ctx=ctx))


def initialize_random(net: HybridBlock, seed: int, input_size: int,
                      ctx: mx.Context = mx.cpu()) -> None:
    """Xavier initialisation, reproducible from ``seed``; all parameters materialised."""
    mx.random.seed(seed)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2), ctx=ctx)
    materialize(net, input_size, ctx)


def load_params(net: HybridBlock, path: str | os.PathLike, ctx: mx.Context = mx.cpu(),
                allow_missing: bool = False, ignore_extra: tuple[str, ...] = ()) -> None:
    """Load a Gluon ``.params`` file into an initialised, materialised ``net``.

    Every shape is checked first, so a file for another architecture or width fails with the first
    mismatched parameter (in network order) named, instead of MXNet's partial-load message.
    ``allow_missing`` tolerates parameters absent from the file (e.g. aux heads of an inference file);
    parameters in the file whose names start with one of ``ignore_extra`` are skipped (e.g. the aux
    heads of a training checkpoint loaded into an inference network).
    """
    path = Path(path)
    if not path.is_file():
        raise ReproError(f"weights file {path} does not exist")
    try:
        saved = mx.nd.load(str(path))
    except mx.MXNetError as exc:
        reason = str(exc).strip().splitlines()[-1].removeprefix("MXNetError: ")  # not MXNet's traceback
        raise ReproError(f"{path} is not an MXNet .params file ({reason})") from exc
    if not isinstance(saved, dict):
        raise ReproError(f"{path} holds a list of arrays, not named parameters: save it with "
                         f"net.save_parameters()")
    saved = {k.split(":", 1)[-1]: v for k, v in saved.items()}  # export_params prefixes arg:/aux:
    expected = net._collect_params_with_prefix()  # the structural names save_parameters writes
    for name, param in expected.items():
        if name not in saved:
            if allow_missing:
                continue
            raise ReproError(f"{path} has no parameter {name!r} (shape {param.shape}): it was saved "
                             f"from another architecture")
        if tuple(saved[name].shape) != tuple(param.shape):
            raise ReproError(f"{path}: parameter {name!r} has shape {tuple(saved[name].shape)}, the "
                             f"network expects {tuple(param.shape)}: wrong architecture, width or "
                             f"number of classes")
    extra = sorted(k for k in set(saved) - set(expected) if not k.startswith(ignore_extra or ("\0",)))
    if extra:
        raise ReproError(f"{path} has {len(extra)} parameters this network does not have, first "
                         f"{extra[0]!r}: it was saved from another architecture")
    for name, param in expected.items():
        if name in saved:
            param.set_data(saved[name].as_in_context(ctx))


def sha1_file(path: Path) -> str:
    """Hex SHA-1 of a file (GluonCV's model store pins files by SHA-1)."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mxnet_model_dir() -> Path:
    """The MXNet/GluonCV model cache: ``$MXNET_HOME/models`` or ``~/.mxnet/models``."""
    home = os.environ.get("MXNET_HOME")
    return Path(home) / "models" if home else Path.home() / ".mxnet" / "models"


def gluoncv_weights(name: str = "googlenet", root: Path | None = None,
                    allow_download: bool = False) -> Path:
    """Path of GluonCV's pretrained ``name`` weights in the model cache, checked by SHA-1.

    Absent or corrupt files raise a one-line error naming the directory, file name and SHA-1, unless
    ``allow_download`` hands the job to GluonCV's own downloader.
    """
    from gluoncv.model_zoo import model_store

    sha1 = model_store._model_sha1.get(name)
    if sha1 is None:
        raise ReproError(f"GluonCV has no pretrained weights named {name!r}")
    root = Path(root) if root else mxnet_model_dir()
    path = root / f"{name}-{sha1[:8]}.params"
    if allow_download:
        return Path(model_store.get_model_file(name, root=str(root)))
    if not path.is_file():
        raise ReproError(f"GluonCV weights for {name} not found: put {path.name} (sha1 {sha1}) in "
                         f"{root} (set MXNET_HOME to use another cache), or pass --allow-download")
    actual = sha1_file(path)
    if actual != sha1:
        raise ReproError(f"{path} has sha1 {actual}, expected {sha1}: the file is corrupt or not "
                         f"GluonCV's; replace it")
    return path
