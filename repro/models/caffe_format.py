"""Caffe's file formats, read without Caffe: ``.caffemodel`` (protobuf binary) and ``.prototxt`` (text).

There is no ``caffe_pb2`` on PyPI without Caffe itself, and MXNet's bundled converter
(``tools/caffe_converter``) needs that module or ``protoc``; so this module reads the few messages it
needs straight from the protobuf wire format (varints, length-delimited fields, packed floats) and
parses the prototxt text format with a small parser of its nested ``key: value`` / ``key { ... }``
structure. Both Caffe encodings are read: the current ``layer`` (NetParameter field 100,
LayerParameter name=1, type=2 string, blobs=7) and the legacy V1 ``layers`` (field 2,
V1LayerParameter name=4, type=5 enum, blobs=6); blobs with a ``BlobShape`` or the legacy
num/channels/height/width dimensions, packed or unpacked floats.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from repro.errors import ReproError

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
