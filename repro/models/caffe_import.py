"""Import BVLC Caffe ``bvlc_googlenet`` (``deploy.prototxt`` + ``.caffemodel``) into GoogLeNetPaper.

The files are read by :mod:`repro.models.caffe_format` (no Caffe needed). The prototxt is checked
against the Gluon network before any weight is touched (every convolution, inner product, pooling
and LRN layer's settings, and the branch order of every Inception concat), then every blob's shape,
and only then are the weights written: an import succeeds or changes nothing. Caffe's convolution
weights are (out, in, kh, kw) and its InnerProduct weights (out, in), both as in Gluon, and Caffe's
InnerProduct flattens (C, H, W) in C order like ``nn.Flatten``: no transposition.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mxnet as mx
from mxnet.gluon import HybridBlock, nn

from repro.errors import ReproError
from repro.models.caffe_format import PrototxtLayer, TextMessage, read_caffemodel, read_prototxt
from repro.models.googlenet_paper import INCEPTION_WIDTHS, LRN, GoogLeNetPaper, LocalResponseNorm
from repro.models.specs import MODELS, ModelSpec
from repro.models.weights import initialize_random

# --- bvlc_googlenet <-> GoogLeNetPaper ------------------------------------------------------------

_BRANCH_LAYERS = (("1x1", "0.0", "Convolution"), ("3x3_reduce", "1.0", "Convolution"),
                  ("3x3", "1.1", "Convolution"), ("5x5_reduce", "2.0", "Convolution"),
                  ("5x5", "2.1", "Convolution"), ("pool", "3.0", "Pooling"),
                  ("pool_proj", "3.1", "Convolution"))
_CONCAT_ORDER = ("1x1", "3x3", "5x5", "pool_proj")  # HybridConcurrent's branch order


def _inception(stage: str) -> list[tuple[str, str, str]]:
    return [(f"inception_{stage}/{caffe}", f"inception{stage}.{gluon}", kind)
            for caffe, gluon, kind in _BRANCH_LAYERS]


def _aux_head(i: int) -> list[tuple[str, str, str]]:
    return [(f"loss{i}/ave_pool", f"aux{i}.0", "Pooling"),
            (f"loss{i}/conv", f"aux{i}.1", "Convolution"),
            (f"loss{i}/fc", f"aux{i}.3", "InnerProduct"),
            (f"loss{i}/classifier", f"aux{i}.5", "InnerProduct")]


#: (Caffe layer name, structural path of the Gluon block, Caffe type), in network order. The final
#: 7x7/1 average pool (pool5/7x7_s1) has no entry: GoogLeNetPaper uses a global average pool, which is
#: the same operation on the 7x7 map of a 224 input.
BVLC_GOOGLENET_LAYERS: tuple[tuple[str, str, str], ...] = (
    ("conv1/7x7_s2", "conv1", "Convolution"), ("pool1/3x3_s2", "pool1.0", "Pooling"),
    ("pool1/norm1", "pool1.1", "LRN"), ("conv2/3x3_reduce", "conv2.0", "Convolution"),
    ("conv2/3x3", "conv2.1", "Convolution"), ("conv2/norm2", "conv2.2", "LRN"),
    ("pool2/3x3_s2", "pool2", "Pooling"),
    *_inception("3a"), *_inception("3b"), ("pool3/3x3_s2", "pool3", "Pooling"),
    *_inception("4a"), *_aux_head(1), *_inception("4b"), *_inception("4c"), *_inception("4d"),
    *_aux_head(2), *_inception("4e"), ("pool4/3x3_s2", "pool4", "Pooling"),
    *_inception("5a"), *_inception("5b"), ("loss3/classifier", "linear", "InnerProduct"),
)
_WEIGHTED_TYPES = ("Convolution", "InnerProduct")


def _is_aux(caffe_name: str) -> bool:
    return caffe_name.startswith(("loss1/", "loss2/"))


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_caffe` loaded."""

    encoding: str  # the caffemodel's: "layer" (current) or "layers" (V1)
    loaded: tuple[str, ...]  # Caffe layers whose weights and biases were written, in network order
    skipped: tuple[str, ...]  # aux-head layers in the caffemodel, not loaded: the net has none
    left_initialised: tuple[str, ...]  # aux-head layers of the net absent from the caffemodel
    parameters: int  # number of scalars written


def _spatial(param: TextMessage, name: str, prefix: str, default: int | None) -> tuple:
    if param.get(f"{prefix}_h") is not None or param.get(f"{prefix}_w") is not None:
        return (param.get(f"{prefix}_h"), param.get(f"{prefix}_w"))
    values = param.all(name) or [default]
    return (values[0], values[-1])


def _caffe_settings(layer: PrototxtLayer) -> dict:
    p = layer.params
    if layer.type == "Convolution":
        p = p.message("convolution_param")
        return {"num_output": p.get("num_output"),
                "kernel": _spatial(p, "kernel_size", "kernel", None),
                "stride": _spatial(p, "stride", "stride", 1), "pad": _spatial(p, "pad", "pad", 0),
                "group": p.get("group", 1), "bias_term": p.get("bias_term", True)}
    if layer.type == "InnerProduct":
        p = p.message("inner_product_param")
        return {"num_output": p.get("num_output"), "bias_term": p.get("bias_term", True)}
    if layer.type == "Pooling":
        p = p.message("pooling_param")
        return {"pool": p.get("pool", "MAX"), "kernel": _spatial(p, "kernel_size", "kernel", None),
                "stride": _spatial(p, "stride", "stride", 1), "pad": _spatial(p, "pad", "pad", 0),
                "rounding": "ceil", "global_pooling": p.get("global_pooling", False)}
    p = p.message("lrn_param")  # Caffe's defaults: local_size 5, alpha 1, beta 0.75, k 1
    return {"local_size": p.get("local_size", 5), "alpha": p.get("alpha", 1.0),
            "beta": p.get("beta", 0.75), "k": p.get("k", 1.0),
            "norm_region": p.get("norm_region", "ACROSS_CHANNELS")}


def _gluon_settings(block: HybridBlock) -> dict:
    # Gluon exposes a layer's settings only through the operator kwargs it keeps in ``_kwargs``.
    if isinstance(block, nn.Conv2D):
        kw = block._kwargs
        return {"num_output": kw["num_filter"], "kernel": kw["kernel"], "stride": kw["stride"],
                "pad": kw["pad"], "group": kw["num_group"], "bias_term": not kw["no_bias"]}
    if isinstance(block, nn.Dense):
        return {"num_output": block._units, "bias_term": block.bias is not None}
    if isinstance(block, (nn.MaxPool2D, nn.AvgPool2D)):
        kw = block._kwargs
        return {"pool": {"max": "MAX", "avg": "AVE"}[kw["pool_type"]], "kernel": kw["kernel"],
                "stride": kw["stride"], "pad": kw["pad"],
                "rounding": "ceil" if kw["pooling_convention"] == "full" else "floor",
                "global_pooling": kw["global_pool"]}
    assert isinstance(block, LocalResponseNorm), type(block)
    return {"local_size": LRN["nsize"], "alpha": LRN["alpha"], "beta": LRN["beta"], "k": LRN["knorm"],
            "norm_region": "ACROSS_CHANNELS"}


def _same(caffe, gluon) -> bool:
    if isinstance(caffe, float) or isinstance(gluon, float):
        return isinstance(caffe, (int, float)) and math.isclose(caffe, gluon, rel_tol=1e-6)
    return tuple(caffe) == tuple(gluon) if isinstance(caffe, tuple) else caffe == gluon


def _check_layer(layer: PrototxtLayer, kind: str, block: HybridBlock, where: str) -> None:
    if layer.type != kind:
        raise ReproError(f"{where}: layer {layer.name!r} is a {layer.type or 'typeless'} layer, "
                         f"bvlc_googlenet has a {kind} there")
    caffe, gluon = _caffe_settings(layer), _gluon_settings(block)
    diffs = [f"{key} {caffe[key]} (network: {gluon[key]})" for key in caffe
             if not _same(caffe[key], gluon[key])]
    if diffs:
        raise ReproError(f"{where}: layer {layer.name!r} does not match the network: "
                         f"{', '.join(diffs)}")


def _check_concats(layers: dict[str, PrototxtLayer], prototxt: Path) -> None:
    for stage in INCEPTION_WIDTHS:
        name = f"inception_{stage}/output"
        concat = layers.get(name)
        if concat is None or concat.type != "Concat":
            raise ReproError(f"{prototxt} has no Concat layer {name!r}: it does not describe "
                             f"bvlc_googlenet")
        branch_ends = (layers[f"inception_{stage}/{branch}"] for branch in _CONCAT_ORDER)
        expected = tuple((end.tops or (end.name,))[-1] for end in branch_ends)
        axis = concat.params.message("concat_param").get("axis", 1)
        if concat.bottoms != expected or axis != 1:
            raise ReproError(f"{prototxt}:{concat.line}: layer {name!r} concatenates "
                             f"{list(concat.bottoms)} on axis {axis}; the network concatenates "
                             f"{list(expected)} on axis 1")


def _block_at(net: HybridBlock, path: str) -> HybridBlock:
    block = net
    for part in path.split("."):
        block = block._children[part]
    return block


def _check_prototxt(layers: tuple[PrototxtLayer, ...], prototxt: Path, net: GoogLeNetPaper) -> None:
    by_name = {layer.name: layer for layer in layers}
    known = {caffe for caffe, _, _ in BVLC_GOOGLENET_LAYERS}
    for caffe, gluon, kind in BVLC_GOOGLENET_LAYERS:
        layer = by_name.get(caffe)
        if layer is None:
            if _is_aux(caffe):  # deploy.prototxt has no aux heads; train_val.prototxt has them
                continue
            raise ReproError(f"{prototxt} has no layer {caffe!r}: it does not describe "
                             f"bvlc_googlenet")
        if _is_aux(caffe) and not net.aux:
            continue
        _check_layer(layer, kind, _block_at(net, gluon), f"{prototxt}:{layer.line}")
    _check_concats(by_name, prototxt)
    for layer in layers:
        if layer.type in _WEIGHTED_TYPES and layer.name not in known:
            raise ReproError(f"{prototxt}:{layer.line}: {layer.type} layer {layer.name!r} has no "
                             f"counterpart in googlenet-paper")


def import_caffe(prototxt: str | Path, caffemodel: str | Path, net: HybridBlock) -> ImportReport:
    """Load ``bvlc_googlenet`` weights into an initialised, materialised :class:`GoogLeNetPaper`.

    The prototxt must match the network (widths, kernels, strides, pads, pools, LRN, concat order)
    and every blob its parameter's shape; any mismatch is a ReproError naming the Caffe layer, raised
    before a single parameter is changed. Aux-head weights are loaded when the caffemodel has them and
    the net has aux heads; otherwise they are listed in the report.
    """
    prototxt = Path(prototxt)
    if not isinstance(net, GoogLeNetPaper):
        raise ReproError(f"Caffe bvlc_googlenet weights fit googlenet-paper / googlenet-bvlc only, "
                         f"not a {type(net).__name__}")
    params = net._collect_params_with_prefix()  # the structural names save_parameters writes
    unshaped = [name for name, param in params.items() if 0 in param.shape]
    if unshaped:
        raise ReproError(f"parameter {unshaped[0]!r} has no shape yet: initialise and materialise "
                         f"the network first (repro.models.weights.initialize_random)")
    _check_prototxt(read_prototxt(prototxt), prototxt, net)
    weights = read_caffemodel(caffemodel)
    known = {caffe for caffe, _, _ in BVLC_GOOGLENET_LAYERS}
    unknown = [name for name in weights.layers if name not in known]
    if unknown:
        raise ReproError(f"{weights.path}: layer {unknown[0]!r} has weights but no counterpart in "
                         f"googlenet-paper: this is not a bvlc_googlenet caffemodel")
    assignments, loaded, skipped, left = [], [], [], []
    for caffe, gluon, kind in BVLC_GOOGLENET_LAYERS:
        if kind not in _WEIGHTED_TYPES:
            continue
        stored = weights.layers.get(caffe)
        if _is_aux(caffe) and not net.aux:
            if stored is not None:
                skipped.append(caffe)
            continue
        if stored is None:
            if _is_aux(caffe):
                left.append(caffe)
                continue
            raise ReproError(f"{weights.path} has no weights for layer {caffe!r}")
        if stored.type != kind:
            raise ReproError(f"{weights.path}: layer {caffe!r} is a {stored.type} layer, "
                             f"bvlc_googlenet has a {kind} there")
        targets = (params[f"{gluon}.weight"], params[f"{gluon}.bias"])
        if len(stored.blobs) != len(targets):
            raise ReproError(f"{weights.path}: layer {caffe!r} has {len(stored.blobs)} blobs, "
                             f"expected {len(targets)} (weight and bias)")
        for blob, param, role in zip(stored.blobs, targets, ("weight", "bias")):
            if not blob.fits(param.shape):
                raise ReproError(f"{weights.path}: layer {caffe!r} {role} has shape {blob.shape}, "
                                 f"the network expects {tuple(param.shape)}")
            assignments.append((param, blob.data.reshape(param.shape)))
        loaded.append(caffe)
    for param, array in assignments:
        param.set_data(mx.nd.array(array, dtype=param.dtype))
    return ImportReport(encoding=weights.encoding, loaded=tuple(loaded), skipped=tuple(skipped),
                        left_initialised=tuple(left),
                        parameters=sum(array.size for _, array in assignments))


def load_caffe_googlenet(prototxt: str | Path, caffemodel: str | Path, classes: int = 1000,
                         width: float = 1.0, aux: bool = False,
                         ctx: mx.Context = mx.cpu()) -> tuple[HybridBlock, ModelSpec]:
    """A ``googlenet-bvlc`` network (BGR, mean 104/117/123, in its spec) with Caffe's weights.

    With ``aux=True`` the caffemodel must also hold the aux heads (loss1/*, loss2/*), as the BVLC
    training snapshot does; a head it lacks is an error rather than silently random.
    """
    spec = MODELS.get("googlenet-bvlc")
    net = spec.create(classes=classes, width=width, aux=aux)
    initialize_random(net, seed=0, input_size=spec.input_size, ctx=ctx)  # gives parameters shapes
    report = import_caffe(prototxt, caffemodel, net)
    if report.left_initialised:
        raise ReproError(f"{caffemodel} has no weights for aux-head layer "
                         f"{report.left_initialised[0]!r}; load with aux=False")
    return net, spec
