"""Model references on the command line, resolved to a ready network with a weights hash.

A reference is one of:

- ``ID`` — a registered spec with seeded random weights (``--seed``, ``--classes``, ``--width``);
- ``ID:PATH.params`` — a registered spec with a Gluon ``.params`` file (shapes checked);
- ``ID:pretrained`` — GluonCV's published weights from the local model cache (``googlenet-gluoncv``);
- ``googlenet-bvlc:DEPLOY.prototxt,WEIGHTS.caffemodel`` — BVLC Caffe weights, imported;
- ``ID:PREFIX-symbol.json`` — an exported MXNet model (``PREFIX-0000.params`` beside it), fed with
  ``ID``'s input convention (mean/std, channel order);
- ``PATH.json`` — a model card written by ``repro train``: spec id, classes, width, input size and
  the ``.params`` file (relative to the card).

Every resolved model carries the SHA-256 of its parameter values (names + bytes, in network order),
so stores and manifests identify weights by content, whatever file they came from.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import mxnet as mx
from mxnet.gluon import HybridBlock

from repro.errors import ReproError
from repro.naming import check_safe_name
from repro.models.specs import MODELS, ModelSpec
from repro.models.weights import gluoncv_weights, initialize_random, load_params


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: which spec, which weights, which shape."""

    text: str
    spec_id: str
    weights: str  # "random", "pretrained", or a .params path
    classes: int
    width: float
    input_size: int
    seed: int
    name: str  # the key under which its results are stored


@dataclass
class LoadedModel:
    """A network with its weights in place, ready to wrap in a :class:`Classifier`."""

    ref: ModelRef
    spec: ModelSpec
    net: HybridBlock
    weights_sha256: str


def parse_ref(text: str, classes: int = 1000, width: float = 1.0, input_size: int | None = None,
              seed: int = 0) -> ModelRef:
    """Parse a model reference; defaults apply where the reference does not fix a value."""
    if text.endswith(".json") and not text.endswith("-symbol.json"):
        card_path = Path(text)
        if not card_path.is_file():
            raise ReproError(f"model card {card_path} does not exist")
        try:
            card = json.loads(card_path.read_text())
            params = (card_path.parent / card["params"]).resolve()
            name = check_safe_name(str(card.get("name", card_path.stem)), f"{card_path}: model name")
            return ModelRef(text, card["spec"], str(params), int(card["classes"]),
                            float(card.get("width", 1.0)), int(card["input_size"]),
                            int(card.get("seed", 0)), name)
        except (KeyError, ValueError, TypeError) as exc:
            raise ReproError(f"model card {card_path} is malformed ({exc!r}); it needs spec, params, "
                             f"classes, input_size") from exc
    spec_id, _, weights = text.partition(":")
    spec = MODELS.get(spec_id)
    size = input_size or spec.input_size
    if not weights or weights == "random":
        slug = f"{spec_id}-random-s{seed}-w{width:g}-c{classes}-i{size}"
        return ModelRef(text, spec_id, "random", classes, width, size, seed, slug)
    if weights == "pretrained":
        return ModelRef(text, spec_id, "pretrained", classes, width, size, seed, f"{spec_id}-pretrained")
    if "," in weights and not weights.endswith(".caffemodel"):
        raise ReproError(f"{text}: Caffe weights are given as ID:DEPLOY.prototxt,WEIGHTS.caffemodel")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(weights).stem)
    return ModelRef(text, spec_id, weights, classes, width, size, seed, f"{spec_id}-{name}")


def parameters_sha256(net: HybridBlock) -> str:
    """SHA-256 over parameter names and float32 bytes, in network order."""
    digest = hashlib.sha256()
    for name, param in net._collect_params_with_prefix().items():
        digest.update(name.encode())
        digest.update(param.data().asnumpy().tobytes())
    return digest.hexdigest()


def load_model(ref: ModelRef, ctx: mx.Context = mx.cpu(), allow_download: bool = False) -> LoadedModel:
    """Build ``ref``'s network and put its weights in place (inference: no aux heads)."""
    spec = MODELS.get(ref.spec_id)
    if ref.weights == "pretrained" and spec.id != "googlenet-gluoncv":
        raise ReproError(f"{ref.text}: only googlenet-gluoncv has published pretrained weights here")
    if ref.weights.endswith(".caffemodel"):
        from repro.models.caffe_import import load_caffe_googlenet

        prototxt, caffemodel = ref.weights.split(",", 1)
        net, _ = load_caffe_googlenet(prototxt, caffemodel, ref.classes, ref.width, ctx=ctx)
        return LoadedModel(ref, spec, net, parameters_sha256(net))
    if ref.weights.endswith("-symbol.json"):
        from repro.models.mxnet_export import load_exported

        net = load_exported(ref.weights[:-len("-symbol.json")], ctx=ctx, input_size=ref.input_size)
        return LoadedModel(ref, spec, net, parameters_sha256(net))
    net = spec.create(classes=ref.classes, width=ref.width, aux=False)
    try:
        initialize_random(net, seed=ref.seed, input_size=ref.input_size, ctx=ctx)
    except mx.MXNetError as exc:
        raise ReproError(f"model {ref.text} cannot run at input size {ref.input_size}: "
                         f"{str(exc).strip().splitlines()[-1]} (use a larger --crop-size)") from exc
    if ref.weights == "pretrained":
        load_params(net, gluoncv_weights("googlenet", allow_download=allow_download), ctx)
    elif ref.weights != "random":
        load_params(net, ref.weights, ctx, ignore_extra=("aux1.", "aux2."))
    return LoadedModel(ref, spec, net, parameters_sha256(net))
