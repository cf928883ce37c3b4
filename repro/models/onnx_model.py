"""ONNX classifiers as model references, run by ONNX Runtime with an explicit input convention.

A reference is ``onnx:PATH.onnx?OPTIONS``, options as ``key=value`` joined by ``&`` (quote the
reference in a shell)::

    onnx:googlenet-12.onnx?spec=googlenet-bvlc          the convention of a registered spec
    onnx:net.onnx?order=RGB&mean=123.675,116.28,103.53&std=58.395,57.12,57.375
    onnx:net.onnx?order=BGR&mean=104,117,123&layout=NHWC&output=logits

- ``spec=ID``: channel order, mean, std and input size of a registered model spec; any of the
  options below overrides it. Without ``spec``, ``order`` and ``mean`` are required (a guessed
  convention is the preprocessing bug this harness exists to rule out).
- ``order=RGB|BGR``: the channel order the network's first layer expects.
- ``mean``, ``std``: one value or three, in 0-255 units and in the network's channel order, as in
  :class:`~repro.models.specs.ModelSpec`: the network sees ``(pixel - mean) / std``. An explicit
  ``mean`` without ``std`` means std 1.
- ``layout=NCHW|NHWC``: default NCHW, or NHWC when the file's input says so unambiguously.
- ``output=logits|probabilities``: default probabilities when the graph ends in a Softmax, else
  logits (which get a softmax here).
- ``size=N``: crop side for a file whose input size is not fixed (default: the spec's, or 224);
  a fixed size in the file wins over the spec's and must agree with ``size`` and ``--crop-size``.

The file is checked when the reference is parsed: one float32 input of rank 4 with 3 channels where
the layout puts them, square fixed spatial size (if fixed), one output ``(N, classes)`` (trailing
1s allowed), default-domain opset >= 7. A fixed batch dimension is honoured by running in pieces.
Every failure is a one-line :class:`ReproError` naming the file or option.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

import numpy as np

from repro.errors import ReproError

PREFIX = "onnx:"
OPTIONS = ("spec", "order", "mean", "std", "layout", "output", "size")
MIN_OPSET = 7  # the oldest opset ONNX Runtime runs
DEFAULT_SIZE = 224


@dataclass(frozen=True)
class OnnxConvention:
    """How crops become the graph's input, and what its output is."""

    channel_order: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    layout: str
    output: str  # "logits" or "probabilities"
    input_size: int


@dataclass(frozen=True)
class OnnxClassifier:
    """A checked ONNX file with its convention: what the onnxruntime backend runs."""

    path: Path
    spec_id: str | None
    convention: OnnxConvention
    input_name: str
    batch: int | None  # fixed batch dimension of the file, or None
    classes: int
    opset: int
    sha256: str
    deviations: tuple[str, ...] = ()


def is_onnx_ref(text: str) -> bool:
    """Whether ``text`` is an ``onnx:`` model reference."""
    return text.startswith(PREFIX)


def _floats(text: str, option: str, ref: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ReproError(f"{ref}: {option}={text!r} is not a number or three comma-separated "
                         f"numbers") from None
    if len(values) == 1:
        values = values * 3
    if len(values) != 3 or (option == "std" and any(v <= 0 for v in values)):
        raise ReproError(f"{ref}: {option} needs one value or three (0-255 units, the network's "
                         f"channel order){', all positive' if option == 'std' else ''}; got "
                         f"{text!r}")
    return values


def _options(text: str) -> tuple[Path, dict[str, str]]:
    body = text[len(PREFIX):]
    path_text, _, query = body.partition("?")
    if not path_text.endswith(".onnx"):
        raise ReproError(f"{text}: an ONNX reference is onnx:PATH.onnx[?key=value&...]")
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, separator="&"):
        if key not in OPTIONS or not value:
            raise ReproError(f"{text}: bad option {key}={value!r}; options are "
                             f"{', '.join(o + '=...' for o in OPTIONS)}")
        options[key] = value
    return Path(path_text), options


def _dims(value_info) -> list[int | str]:
    dims = []
    for dim in value_info.type.tensor_type.shape.dim:
        dims.append(dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or "?"))
    return dims


def _read_model(path: Path):
    import onnx

    if not path.is_file():
        raise ReproError(f"ONNX model {path} does not exist")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... on junk
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ReproError(f"{path} is not an ONNX model ({type(exc).__name__}: {reason})") from None


def _opset(model, path: Path) -> int:
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise ReproError(f"{path} imports no default-domain ONNX opset: not a standard ONNX model")
    if versions[0] < MIN_OPSET:
        raise ReproError(f"{path} uses ONNX opset {versions[0]}; ONNX Runtime needs >= {MIN_OPSET}: "
                         f"convert it with onnx.version_converter")
    return versions[0]


def _graph_input(model, path: Path):
    initializers = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    if len(inputs) != 1:
        raise ReproError(f"{path} has {len(inputs)} graph inputs ({', '.join(v.name for v in inputs)}); "
                         f"a classifier has exactly one, the image batch")
    value = inputs[0]
    elem = value.type.tensor_type.elem_type
    if elem != 1:  # TensorProto.FLOAT
        import onnx

        name = onnx.TensorProto.DataType.Name(elem)
        raise ReproError(f"{path}: input {value.name!r} is {name}, not FLOAT: only float32 inputs "
                         f"are supported (the convention's normalisation happens here)")
    return value


def _layout(dims: list, path: Path, requested: str | None) -> str:
    if len(dims) != 4:
        raise ReproError(f"{path}: input has rank {len(dims)} (shape {dims}); an image classifier "
                         f"takes (N, 3, H, W) or (N, H, W, 3)")
    if requested:
        if requested not in ("NCHW", "NHWC"):
            raise ReproError(f"{path}: layout must be NCHW or NHWC, not {requested!r}")
        layout = requested
    else:
        layout = "NHWC" if dims[3] == 3 and dims[1] != 3 else "NCHW"
    channels = dims[1] if layout == "NCHW" else dims[3]
    if channels != 3:
        raise ReproError(f"{path}: input shape {dims} has {channels} channels where layout "
                         f"{layout} puts them; expected 3 (give layout=NCHW or NHWC if the file "
                         f"says otherwise)")
    return layout


def _spatial_size(dims: list, layout: str, path: Path, wanted: int | None, default: int) -> int:
    """The crop side: the file's fixed size (``wanted`` must agree), else ``wanted`` or ``default``."""
    height, width = (dims[2], dims[3]) if layout == "NCHW" else (dims[1], dims[2])
    fixed = [d for d in (height, width) if isinstance(d, int) and d > 0]
    if len(fixed) == 2 and height != width:
        raise ReproError(f"{path}: input is {height}x{width}; the harness feeds square crops")
    if fixed:
        if wanted and wanted != fixed[0]:
            raise ReproError(f"{path} takes {fixed[0]}px input (fixed in the file), not {wanted}px: "
                             f"pass --crop-size {fixed[0]}")
        return fixed[0]
    return wanted or default


def _output(model, path: Path) -> tuple[list, bool]:
    if len(model.graph.output) != 1:
        raise ReproError(f"{path} has {len(model.graph.output)} outputs; a classifier has one "
                         f"(export in inference mode, without aux heads)")
    output = model.graph.output[0]
    dims = _dims(output)
    if len(dims) < 2 or any(d != 1 for d in dims[2:]):
        raise ReproError(f"{path}: output {output.name!r} has shape {dims}; expected "
                         f"(N, classes) (trailing 1s allowed)")
    softmax = any(node.op_type == "Softmax" and output.name in node.output
                  for node in model.graph.node)
    return dims, softmax


def load_onnx(text: str, input_size: int | None = None) -> OnnxClassifier:
    """Parse ``onnx:PATH.onnx?...`` and check the file (see the module docstring)."""
    from repro.models.specs import MODELS

    path, options = _options(text)
    spec = MODELS.get(options["spec"]) if "spec" in options else None
    if spec is None and not {"order", "mean"} <= set(options):
        raise ReproError(f"{text}: give the input convention: ?spec=ID (a registered model's) or "
                         f"?order=RGB|BGR&mean=M[&std=S] (0-255 units)")
    order = options.get("order", spec.channel_order if spec else "").upper()
    if order not in ("RGB", "BGR"):
        raise ReproError(f"{text}: order must be RGB or BGR, not {options.get('order')!r}")
    mean = _floats(options["mean"], "mean", text) if "mean" in options else spec.mean
    std = _floats(options["std"], "std", text) if "std" in options else (
        spec.std if spec and "mean" not in options else (1.0, 1.0, 1.0))
    output_kind = options.get("output")
    if output_kind not in (None, "logits", "probabilities"):
        raise ReproError(f"{text}: output must be logits or probabilities, not {output_kind!r}")
    if "size" in options and not options["size"].isdigit():
        raise ReproError(f"{text}: size must be a positive integer, not {options['size']!r}")
    wanted = input_size or (int(options["size"]) if "size" in options else None)
    default_size = spec.input_size if spec else DEFAULT_SIZE

    model = _read_model(path)
    opset = _opset(model, path)
    graph_input = _graph_input(model, path)
    dims = _dims(graph_input)
    layout = _layout(dims, path, options.get("layout", "").upper() or None)
    size = _spatial_size(dims, layout, path, wanted, default_size)
    out_dims, ends_in_softmax = _output(model, path)
    batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else None
    convention = OnnxConvention(order, tuple(mean), tuple(std), layout,
                                output_kind or ("probabilities" if ends_in_softmax else "logits"),
                                size)
    classes = out_dims[1] if isinstance(out_dims[1], int) and out_dims[1] > 0 else None
    if classes is None:  # symbolic: one forward tells
        session = make_session(path)
        probe = np.zeros(_input_shape(batch or 1, convention), np.float32)
        classes = int(np.prod(session.run(None, {graph_input.name: probe})[0].shape[1:]))
    deviations = (spec.deviations if spec else ()) + (
        f"executed from ONNX file {path.name} by ONNX Runtime with the "
        f"{'convention of ' + spec.id if spec else 'convention given in the reference'}; the file's "
        f"architecture is not checked against any spec",)
    return OnnxClassifier(path=path, spec_id=spec.id if spec else None, convention=convention,
                          input_name=graph_input.name, batch=batch, classes=classes, opset=opset,
                          sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                          deviations=deviations)


def _input_shape(n: int, convention: OnnxConvention) -> tuple[int, int, int, int]:
    size = convention.input_size
    return (n, 3, size, size) if convention.layout == "NCHW" else (n, size, size, 3)


def _without_initializer_inputs(model) -> bytes:
    """The model with its initializers removed from the graph inputs (older exporters, mx.onnx
    among them, list every parameter as an input too, which stops ONNX Runtime from folding
    constants; ``backends.export_onnx`` does the same for its own exports)."""
    initializers = {t.name for t in model.graph.initializer}
    if model.ir_version >= 4:  # before IR 4 an initializer had to be an input as well
        inputs = [v for v in model.graph.input if v.name not in initializers]
        del model.graph.input[:]
        model.graph.input.extend(inputs)
    return model.SerializeToString()


def make_session(path: Path, threads: int = 0):
    """An ONNX Runtime CPU session on ``path`` (all graph optimisations); one-line errors."""
    import onnxruntime

    model = _without_initializer_inputs(_read_model(path))
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's Fail / InvalidGraph / NotImplemented
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ReproError(f"ONNX Runtime cannot run {path}: {reason[:300]}") from None


def normalise(batch: np.ndarray, convention: OnnxConvention) -> np.ndarray:
    """``(N, S, S, 3)`` uint8 RGB crops -> the graph's float32 input under ``convention``."""
    x = batch.astype(np.float32)
    if convention.channel_order == "BGR":
        x = x[..., ::-1]
    x = (x - np.asarray(convention.mean, np.float32)) / np.asarray(convention.std, np.float32)
    if convention.layout == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _run(session, model: OnnxClassifier, x: np.ndarray) -> np.ndarray:
    try:
        return session.run(None, {model.input_name: x})[0]
    except Exception as exc:  # onnxruntime's Fail / InvalidArgument carry multi-line messages
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ReproError(f"ONNX Runtime failed on {model.path} with input {x.shape}: "
                         f"{reason[:300]}") from None


def onnx_predictor(model: OnnxClassifier, threads: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """``predict(batch) -> (N, classes)`` float32 probabilities, as every backend's predictor."""
    session = make_session(model.path, threads)
    convention = model.convention

    def predict(batch: np.ndarray) -> np.ndarray:
        if batch.shape[1:] != (convention.input_size, convention.input_size, 3):
            raise ReproError(f"{model.path} takes {convention.input_size}px crops, not "
                             f"{batch.shape[1]}px: pass --crop-size {convention.input_size}")
        x = normalise(batch, convention)
        step = model.batch or len(x)
        parts = []
        for start in range(0, len(x), step):
            part = x[start:start + step]
            if len(part) < step:  # a fixed batch dimension: pad the last piece
                part = np.concatenate([part, np.zeros((step - len(part),) + part.shape[1:],
                                                      part.dtype)])
            out = _run(session, model, part)
            parts.append(out.reshape(len(part), -1)[:min(step, len(x) - start)])
        out = np.concatenate(parts).astype(np.float32, copy=False)
        return out if convention.output == "probabilities" else _softmax(out)
    return predict
