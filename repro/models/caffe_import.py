"""Import BVLC Caffe ``bvlc_googlenet`` (``deploy.prototxt`` + ``.caffemodel``) into GoogLeNetPaper.

Caffe is not needed. There is no ``caffe_pb2`` on PyPI without Caffe itself, and MXNet's bundled
converter (``tools/caffe_converter``) needs that module or ``protoc``; so this module reads the few
messages it needs straight from the protobuf wire format (varints, length-delimited fields, packed
floats) and parses the prototxt text format with a small parser of its nested ``key: value`` /
``key { ... }`` structure. Both Caffe encodings are read: the current ``layer`` (NetParameter field
100, LayerParameter name=1, type=2 string, blobs=7) and the legacy V1 ``layers`` (field 2,
V1LayerParameter name=4, type=5 enum, blobs=6); blobs with a ``BlobShape`` or the legacy
num/channels/height/width dimensions, packed or unpacked floats.

The prototxt is checked against the Gluon network before any weight is touched (every convolution,
inner product, pooling and LRN layer's settings, and the branch order of every Inception concat),
then every blob's shape, and only then are the weights written: an import succeeds or changes nothing.
Caffe's convolution weights are (out, in, kh, kw) and its InnerProduct weights (out, in), both as in
Gluon, and Caffe's InnerProduct flattens (C, H, W) in C order like ``nn.Flatten``: no transposition.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock, nn

from repro.errors import ReproError
from repro.models.googlenet_paper import INCEPTION_WIDTHS, LRN, GoogLeNetPaper, LocalResponseNorm
from repro.models.specs import MODELS, ModelSpec
from repro.models.weights import initialize_random

# --- protobuf wire format -------------------------------------------------------------------------


class _WireError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while shift < 70:
        if pos >= len(buf):
            raise _WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise _WireError("varint longer than 10 bytes")


def _fields(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field: an int for varints, the raw bytes otherwise."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 2, 5):
            if wire == 2:
                size, pos = _varint(buf, pos)
            else:
                size = 8 if wire == 1 else 4
            if pos + size > len(buf):
                raise _WireError(f"field {number} runs past the end of its message")
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise _WireError(f"field {number} has unsupported wire type {wire}")
        if number == 0:
            raise _WireError("field number 0")
        yield number, wire, value


# --- .caffemodel ----------------------------------------------------------------------------------

#: V1LayerParameter.LayerType (enum number, text name) -> current type string, for GoogLeNet's types.
_V1_TYPES = ((3, "CONCAT", "Concat"), (4, "CONVOLUTION", "Convolution"), (6, "DROPOUT", "Dropout"),
             (14, "INNER_PRODUCT", "InnerProduct"), (15, "LRN", "LRN"), (17, "POOLING", "Pooling"),
             (18, "RELU", "ReLU"), (20, "SOFTMAX", "Softmax"))
_V1_TYPE_BY_NUMBER = {number: current for number, _, current in _V1_TYPES}
_V1_TYPE_BY_NAME = {name: current for _, name, current in _V1_TYPES}


@dataclass(frozen=True)
class CaffeBlob:
    """One stored array: its Caffe shape and float32 values (flat, C order)."""

    shape: tuple[int, ...]
    data: np.ndarray
    legacy_shape: bool  # shape from num/channels/height/width: always 4-D, padded with leading 1s

    def fits(self, shape: tuple[int, ...]) -> bool:
        """Whether this blob holds an array of ``shape`` (Caffe's own legacy-shape rule)."""
        shape = tuple(shape)
        if self.shape == shape:
            return True
        return self.legacy_shape and len(shape) <= 4 and self.shape == (1,) * (4 - len(shape)) + shape


@dataclass(frozen=True)
class CaffeLayerWeights:
    """A layer of a ``.caffemodel`` that carries blobs."""

    name: str
    type: str  # current type string ("Convolution"); V1 types outside _V1_TYPES as "V1:<number>"
    blobs: tuple[CaffeBlob, ...]


@dataclass(frozen=True)
class CaffeWeights:
    """The weight-carrying layers of a ``.caffemodel``, by name, in file order."""

    path: Path
    encoding: str  # "layer" (current NetParameter field 100) or "layers" (V1, field 2)
    layers: dict[str, CaffeLayerWeights]


def _packed_varints(payload: memoryview) -> list[int]:
    values, pos = [], 0
    while pos < len(payload):
        value, pos = _varint(payload, pos)
        values.append(value)
    return values


def _read_blob(buf: memoryview, where: str) -> CaffeBlob:
    dims: list[int] = []
    has_shape = False
    legacy: dict[int, int] = {}
    chunks: list[memoryview] = []
    for number, wire, value in _fields(buf):
        if number == 7 and wire == 2:  # BlobShape
            has_shape = True
            for dim_number, dim_wire, dim in _fields(value):
                if dim_number == 1 and dim_wire == 0:
                    dims.append(dim)
                elif dim_number == 1 and dim_wire == 2:
                    dims.extend(_packed_varints(dim))
        elif number == 5 and wire in (2, 5):  # packed payload or one unpacked float: both raw <f4
            chunks.append(value)
        elif number in (1, 2, 3, 4) and wire == 0:
            legacy[number] = value
    raw = b"".join(chunks)
    if len(raw) % 4:
        raise ReproError(f"{where}: float data of {len(raw)} bytes is not a whole number of floats")
    data = np.frombuffer(raw, dtype="<f4")
    if has_shape:
        shape, legacy_shape = tuple(dims), False
    elif legacy:
        shape, legacy_shape = tuple(legacy.get(number, 0) for number in (1, 2, 3, 4)), True
    else:
        raise ReproError(f"{where} has neither a shape nor num/channels/height/width")
    if math.prod(shape) != data.size:
        raise ReproError(f"{where} has shape {shape} but {data.size} float values (double_data and "
                         f"empty blobs are not supported)")
    return CaffeBlob(shape=shape, data=data, legacy_shape=legacy_shape)


def _read_layer(buf: memoryview, v1: bool, path: Path, index: int) -> CaffeLayerWeights:
    name_field, type_field, blobs_field = (4, 5, 6) if v1 else (1, 2, 7)
    name, layer_type, blobs = None, "", []
    for number, wire, value in _fields(buf):
        if number == name_field and wire == 2:
            name = bytes(value).decode("utf-8")
        elif number == type_field and wire == 0 and v1:
            layer_type = _V1_TYPE_BY_NUMBER.get(value, f"V1:{value}")
        elif number == type_field and wire == 2 and not v1:
            layer_type = bytes(value).decode("utf-8")
        elif number == blobs_field and wire == 2:
            blobs.append(value)
    if name is None:
        raise ReproError(f"{path}: layer #{index} has no name (a pre-2014 V0 file? upgrade it with "
                         f"Caffe's upgrade_net_proto_binary)")
    return CaffeLayerWeights(name=name, type=layer_type, blobs=tuple(
        _read_blob(blob, f"{path}: layer {name!r} blob {i}") for i, blob in enumerate(blobs)))


def read_caffemodel(path: str | Path) -> CaffeWeights:
    """The layers with weights of a binary Caffe ``NetParameter`` (current or V1 encoding)."""
    path = Path(path)
    if not path.is_file():
        raise ReproError(f"Caffe weights file {path} does not exist")
    buf = memoryview(path.read_bytes())
    current: list[memoryview] = []
    legacy: list[memoryview] = []
    try:
        for number, wire, value in _fields(buf):
            if number == 100 and wire == 2:
                current.append(value)
            elif number == 2 and wire == 2:
                legacy.append(value)
        if current and legacy:
            raise ReproError(f"{path} mixes current 'layer' and V1 'layers' entries; Caffe itself "
                             f"refuses such a file")
        if not current and not legacy:
            raise ReproError(f"{path} has no layers: it is not a Caffe .caffemodel")
        v1 = bool(legacy)
        layers = [_read_layer(entry, v1, path, i) for i, entry in enumerate(legacy or current)]
    except _WireError as exc:
        raise ReproError(f"{path} is not a Caffe .caffemodel (protobuf: {exc})") from exc
    weighted: dict[str, CaffeLayerWeights] = {}
    for layer in layers:
        if not layer.blobs:
            continue
        if layer.name in weighted:
            raise ReproError(f"{path} has two layers with weights named {layer.name!r}")
        weighted[layer.name] = layer
    return CaffeWeights(path=path, encoding="layers" if v1 else "layer", layers=weighted)


# --- prototxt (protobuf text format) --------------------------------------------------------------

_TOKEN = re.compile(r"""\s+|\#[^\n]*|(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
                    r"""|(?P<punct>[{}:])|(?P<word>[^\s{}:"'\#]+)|(?P<bad>.)""")


@dataclass
class TextMessage:
    """A parsed text-format message: each field name with its values in order (last one wins)."""

    line: int
    fields: dict[str, list] = field(default_factory=dict)

    def all(self, name: str) -> list:
        """Every value of a (repeated) field."""
        return self.fields.get(name, [])

    def get(self, name: str, default=None):
        """The value of an optional field, or ``default`` when absent."""
        values = self.fields.get(name)
        return values[-1] if values else default

    def message(self, name: str) -> TextMessage:
        """A sub-message; an empty one (all defaults) when absent."""
        value = self.get(name)
        return value if isinstance(value, TextMessage) else TextMessage(self.line)


def _scalar(token: str, kind: str):
    if kind == "string":
        return ast.literal_eval(token)  # Python's escapes are a superset of the text format's
    if token in ("true", "True", "false", "False"):
        return token.lower() == "true"
    for convert in (int, float):
        try:
            return convert(token)
        except ValueError:
            pass
    return token  # an enum name such as MAX or ACROSS_CHANNELS


def parse_prototxt(text: str, source: str = "<prototxt>") -> TextMessage:
    """Parse protobuf text format (the nested subset Caffe's prototxt files use)."""
    tokens: list[tuple[str, str, int]] = []
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "bad":
            raise ReproError(f"{source}:{line}: unexpected {match.group()!r}")
        if kind:
            tokens.append((kind, match.group(), line))
        line += match.group().count("\n")
    root, _ = _parse_message(tokens, 0, TextMessage(1), source, closing=False)
    return root


def _parse_message(tokens, pos, message, source, closing):
    while pos < len(tokens):
        kind, text, line = tokens[pos]
        if text == "}" and kind == "punct":
            if not closing:
                raise ReproError(f"{source}:{line}: '}}' without a matching '{{'")
            return message, pos + 1
        if kind != "word":
            raise ReproError(f"{source}:{line}: expected a field name, found {text!r}")
        pos += 1
        colon = pos < len(tokens) and tokens[pos][1] == ":" and tokens[pos][0] == "punct"
        pos += colon
        if pos >= len(tokens):
            raise ReproError(f"{source}:{line}: field {text!r} has no value")
        value_kind, value, value_line = tokens[pos]
        if value == "{" and value_kind == "punct":
            child, pos = _parse_message(tokens, pos + 1, TextMessage(value_line), source,
                                        closing=True)
            message.fields.setdefault(text, []).append(child)
        elif colon and value_kind in ("word", "string"):
            message.fields.setdefault(text, []).append(_scalar(value, value_kind))
            pos += 1
        else:
            raise ReproError(f"{source}:{value_line}: field {text!r} has no value")
    if closing:
        raise ReproError(f"{source}:{message.line}: '{{' is never closed")
    return message, pos


@dataclass(frozen=True)
class PrototxtLayer:
    """A layer of a prototxt net definition."""

    name: str
    type: str  # current type string; V1 enum names of GoogLeNet's types are translated
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: TextMessage
    line: int


def read_prototxt(path: str | Path) -> tuple[PrototxtLayer, ...]:
    """The layers of a Caffe net definition (``layer`` or V1 ``layers`` entries)."""
    path = Path(path)
    if not path.is_file():
        raise ReproError(f"Caffe net definition {path} does not exist")
    net = parse_prototxt(path.read_text(encoding="utf-8"), str(path))
    if net.all("layer") and net.all("layers"):
        raise ReproError(f"{path} mixes 'layer' and V1 'layers' entries")
    layers = []
    for entry in net.all("layer") or net.all("layers"):
        if not isinstance(entry, TextMessage) or not isinstance(entry.get("name"), str):
            line = entry.line if isinstance(entry, TextMessage) else "?"
            raise ReproError(f"{path}:{line}: layer without a name")
        name = entry.get("name")
        layer_type = str(entry.get("type", ""))
        layers.append(PrototxtLayer(
            name=name, type=_V1_TYPE_BY_NAME.get(layer_type, layer_type),
            bottoms=tuple(entry.all("bottom")), tops=tuple(entry.all("top")), params=entry,
            line=entry.line))
    if not layers:
        raise ReproError(f"{path} defines no layers: it is not a Caffe net definition")
    return tuple(layers)


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
