"""Execution backends: how a loaded model turns a batch of uint8 crops into probabilities.

Every backend builds a callable ``predict(batch) -> probs`` with ``batch`` an ``(N, C, C, 3)`` uint8
RGB numpy array and ``probs`` an ``(N, classes)`` float32 numpy array, built once per model and run
with a fixed batch shape. The engine only knows this interface; precision modes and other runtimes
live here without touching it. Every backend runs the same :class:`Classifier` graph (normalisation
inside, softmax out), so they differ only in how that graph is executed:

- ``mxnet``: fp32, hybridized with static memory and shapes; the only one for GPUs and multi-context.
- ``mxnet-fused``: fp32, ``optimize_for('MKLDNN')`` (oneDNN conv+BatchNorm+ReLU and concat fusion).
- ``mxnet-bf16``: the fused graph converted by MXNet AMP to bfloat16 (oneDNN; softmax stays fp32).
- ``mxnet-int8``: MXNet post-training quantization (``quantize_net_v2``), calibrated on images.
- ``onnxruntime``: the graph exported by ``mx.onnx.export_model`` and run by ONNX Runtime (fp32);
  the only backend for ``onnx:`` references (ONNX files run as they are, their input convention
  applied before the graph: :mod:`repro.models.onnx_model`).

A backend is named by id, optionally with options: ``NAME:key=value,key=value`` (e.g.
``mxnet-int8:calibration=/data/train,calibration_images=256``); :data:`BACKENDS` lists each
backend's options. ``auto`` (the default of `repro evaluate`) is no backend of its own: it resolves
per model to a measured fp32 backend (:func:`resolve_backend`).
"""
from __future__ import annotations

import contextlib
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import mxnet as mx
import numpy as np

from repro.compute_threads import intra_op_threads
from repro.data.decode import decode_image
from repro.errors import ReproError
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.refs import LoadedModel
from repro.provenance import cpu_flags
from repro.registry import Registry

Predictor = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Backend:
    """An execution backend: ``build(model, ctxs, batch_shape, **options) -> predict``."""

    build: Callable[..., Predictor]
    precision: str  # "fp32", "bf16" or "int8": what the convolutions compute in
    description: str
    options: tuple[str, ...] = ()  # keyword options ``build`` accepts, all strings on the command line
    requires: tuple[str, ...] = ()  # import names of optional packages the backend needs


BACKENDS: Registry[Backend] = Registry("execution backend")

CALIBRATION_IMAGES = 128  # default number of calibration images for mxnet-int8
MICRO_BATCH = 32  # crops per forward on the CPU; larger batches run in pieces (build_predictor)
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


def _single_cpu(ctxs: tuple, backend: str) -> mx.Context:
    if len(ctxs) != 1 or ctxs[0].device_type != "cpu":
        raise ReproError(f"backend {backend} runs on one CPU context, not {', '.join(map(str, ctxs))}; "
                         f"use --backend mxnet for GPUs or several contexts")
    return ctxs[0]


def _classifier(model: LoadedModel, ctx: mx.Context) -> Classifier:
    model.net.collect_params().reset_ctx(ctx)
    return prepare_for_inference(Classifier(model.net, model.spec), ctx)


def _gluon_predictor(block: mx.gluon.HybridBlock, ctx: mx.Context) -> Predictor:
    def predict(batch: np.ndarray) -> np.ndarray:
        return block(mx.nd.array(batch, dtype="uint8", ctx=ctx)).astype("float32", copy=False).asnumpy()
    return predict


def _mxnet(model: LoadedModel, ctxs: tuple, batch_shape: tuple[int, ...]) -> Predictor:
    """MXNet fp32, hybridized with static memory and shapes; batches split across contexts."""
    model.net.collect_params().reset_ctx(list(ctxs))
    classifier = prepare_for_inference(Classifier(model.net, model.spec), ctxs[0])
    if len(ctxs) == 1:
        return _gluon_predictor(classifier, ctxs[0])
    classifier.collect_params().reset_ctx(list(ctxs))

    def predict(batch: np.ndarray) -> np.ndarray:
        data = mx.nd.array(batch, dtype="uint8", ctx=ctxs[0])
        parts = mx.gluon.utils.split_and_load(data, list(ctxs), even_split=False)
        return np.concatenate([classifier(part).asnumpy() for part in parts])
    return predict


@contextlib.contextmanager
def _input_dtype_decided_at_call() -> Iterator[None]:
    """Silence the SymbolBlock warning that the input dtype is unknown when AMP or quantization
    builds the block: it is uint8 at every call, and MXNet infers it then."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot decide type", category=UserWarning)
        yield


def _fused_classifier(model: LoadedModel, ctx: mx.Context, batch_shape: tuple[int, ...]) -> Classifier:
    classifier = _classifier(model, ctx)
    classifier.optimize_for(mx.nd.zeros(batch_shape, dtype="uint8", ctx=ctx), backend="MKLDNN",
                            static_alloc=True, static_shape=True)
    return classifier


def _mxnet_fused(model: LoadedModel, ctxs: tuple, batch_shape: tuple[int, ...]) -> Predictor:
    """MXNet fp32 with oneDNN graph fusion (conv+BatchNorm+ReLU, concat) on the CPU."""
    ctx = _single_cpu(ctxs, "mxnet-fused")
    return _gluon_predictor(_fused_classifier(model, ctx, batch_shape), ctx)


def bf16_supported() -> bool:
    """Whether oneDNN can run bf16 here: its ``mayiuse(avx512_core)`` needs AVX-512 F, BW, VL and DQ."""
    return {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= cpu_flags()


def _mxnet_bf16(model: LoadedModel, ctxs: tuple, batch_shape: tuple[int, ...]) -> Predictor:
    """MXNet AMP bfloat16 on oneDNN, then fused: convolutions and dense layers in bf16, softmax in
    fp32."""
    from mxnet.contrib import amp

    ctx = _single_cpu(ctxs, "mxnet-bf16")
    if not bf16_supported():
        raise ReproError("--backend mxnet-bf16 needs a CPU with AVX-512 (MXNet 1.9.1's oneDNN 2.4 has bf16 "
                         "kernels only from avx512_core up; this CPU has no avx512f flag): use mxnet-fused "
                         "(fp32) or mxnet-int8 here")
    sample = mx.nd.zeros(batch_shape, dtype="uint8", ctx=ctx)
    classifier = _classifier(model, ctx)
    classifier(sample)  # AMP converts the traced graph
    with _input_dtype_decided_at_call():
        # cast_optional_params: weights stored in bf16 too, so no per-call weight casts (measured
        # ~1.15x faster than without, and ~1.65x the fused fp32 graph, googlenet batch 32)
        converted = amp.convert_hybrid_block(classifier, target_dtype="bfloat16", ctx=ctx,
                                             cast_optional_params=True)
    converted.optimize_for(sample, backend="MKLDNN", static_alloc=True, static_shape=True)
    return _gluon_predictor(converted, ctx)


def calibration_crops(directory: str | Path, size: int, count: int = CALIBRATION_IMAGES) -> np.ndarray:
    """``(n, size, size, 3)`` uint8: the centre square of ``count`` images spread evenly over the
    sorted image files under ``directory`` (recursively), resized to ``size`` (bilinear).

    Spreading over the sorted list covers every class of an ILSVRC-style ``train/<wnid>/`` tree; the
    choice depends only on the file names, so calibration is deterministic.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ReproError(f"calibration directory {directory} does not exist")
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ReproError(f"calibration directory {directory} holds no .JPEG/.jpg/.png image")
    picks = sorted(set(np.linspace(0, len(files) - 1, min(count, len(files))).round().astype(int)))
    crops = np.empty((len(picks), size, size, 3), dtype=np.uint8)
    for row, pick in enumerate(picks):
        image = mx.nd.array(decode_image(files[pick]), dtype="uint8")
        square, _ = mx.image.center_crop(mx.image.resize_short(image, size, interp=1), (size, size))
        crops[row] = square.asnumpy()
    return crops


def _mxnet_int8(model: LoadedModel, ctxs: tuple, batch_shape: tuple[int, ...], calibration: str = "",
                calibration_images: str = str(CALIBRATION_IMAGES),
                calibration_mode: str = "naive") -> Predictor:
    """MXNet post-training int8 quantization (oneDNN), thresholds calibrated on real images."""
    from mxnet.contrib.quantization import quantize_net_v2

    ctx = _single_cpu(ctxs, "mxnet-int8")
    if not calibration:
        raise ReproError("backend mxnet-int8 needs calibration images: mxnet-int8:calibration=DIR "
                         "(a directory of training images, e.g. ILSVRC2012 train/)")
    if calibration_mode not in ("naive", "entropy"):
        raise ReproError(f"mxnet-int8: calibration_mode must be naive or entropy, not "
                         f"{calibration_mode!r}")
    if not calibration_images.isdigit() or int(calibration_images) < 1:
        raise ReproError(f"mxnet-int8: calibration_images must be a positive integer, not "
                         f"{calibration_images!r}")
    crops = calibration_crops(calibration, batch_shape[1], int(calibration_images))
    # The graph casts its input to float32 first, so float32 calibration batches see the same values.
    data = mx.io.NDArrayIter(crops.astype(np.float32), batch_size=min(len(crops), batch_shape[0]),
                             last_batch_handle="discard", data_name="data")
    with _input_dtype_decided_at_call():
        quantized = quantize_net_v2(_classifier(model, ctx), quantized_dtype="auto",
                                    calib_mode=calibration_mode, calib_data=data,
                                    num_calib_examples=len(crops), ctx=ctx)
    quantized.hybridize(static_alloc=True, static_shape=True)
    return _gluon_predictor(quantized, ctx)


def export_onnx(model: LoadedModel, batch_shape: tuple[int, ...]) -> bytes:
    """The classifier graph as an ONNX model for ``batch_shape`` uint8 input named ``data``.

    ``mx.onnx.export_model`` lists every parameter as a graph input as well as an initializer; ONNX
    Runtime must then assume a caller may override them and skips constant folding and fusions
    (measured: ~90 instead of ~150 crops/s for googlenet). They are removed from the inputs here.
    """
    import onnx

    classifier = _classifier(model, mx.cpu())
    classifier(mx.nd.zeros(batch_shape, dtype="uint8"))
    with tempfile.TemporaryDirectory(prefix="repro-onnx-") as tmp:
        classifier.export(f"{tmp}/net")
        path = mx.onnx.export_model(f"{tmp}/net-symbol.json", f"{tmp}/net-0000.params",
                                    in_shapes=[batch_shape], in_types=[np.uint8],
                                    onnx_file_path=f"{tmp}/net.onnx")
        graph_model = onnx.load(path)
    initializers = {tensor.name for tensor in graph_model.graph.initializer}
    inputs = [value for value in graph_model.graph.input if value.name not in initializers]
    del graph_model.graph.input[:]
    graph_model.graph.input.extend(inputs)
    return graph_model.SerializeToString()


def _onnxruntime(model: LoadedModel, ctxs: tuple, batch_shape: tuple[int, ...],
                 threads: str = "0") -> Predictor:
    """ONNX Runtime (CPU, all graph optimisations) on the classifier exported from Gluon; fp32.
    ``threads``: intra-op threads, 0 (default) for this process's compute threads (as MXNet's)."""
    import onnxruntime

    _single_cpu(ctxs, "onnxruntime")
    if not threads.isdigit():
        raise ReproError(f"onnxruntime: threads must be a non-negative integer, not {threads!r}")
    count = int(threads) or intra_op_threads()
    if model.onnx is not None:
        from repro.models.onnx_model import onnx_predictor

        return onnx_predictor(model.onnx, count)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = count
    options.log_severity_level = 3  # errors only: the exporter leaves one unused initializer behind
    session = onnxruntime.InferenceSession(export_onnx(model, batch_shape), options,
                                           providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def predict(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: batch})[0]
    return predict


BACKENDS.register("mxnet", Backend(_mxnet, "fp32", "MXNet, hybridized (static memory and shapes)"))
BACKENDS.register("mxnet-fused", Backend(
    _mxnet_fused, "fp32", "MXNet with oneDNN fusion (optimize_for MKLDNN), CPU"))
BACKENDS.register("mxnet-bf16", Backend(
    _mxnet_bf16, "bf16", "MXNet AMP bfloat16 on oneDNN (fused graph), CPU"))
BACKENDS.register("mxnet-int8", Backend(
    _mxnet_int8, "int8", "MXNet post-training int8 quantization (oneDNN), CPU",
    options=("calibration", "calibration_images", "calibration_mode")))
BACKENDS.register("onnxruntime", Backend(
    _onnxruntime, "fp32", "ONNX Runtime on the graph exported from Gluon, CPU", options=("threads",),
    requires=("onnx", "onnxruntime")))


#: ``--backend auto``: the fp32 backend each model spec runs, measured fastest end to end at 144
#: crops (docs/ARCHITECTURE.md "Backend auto") among those within 1e-4 of plain ``mxnet``
#: (tests/integration/test_backends.py runs it on both variants); ``googlenet-bvlc`` is the paper's
#: graph with another input convention. A spec not measured runs plain ``mxnet``
#: (:data:`AUTO_FALLBACK`); ONNX files run ``onnxruntime``; GPUs and several contexts ``mxnet``.
AUTO = "auto"
AUTO_BACKENDS = {"googlenet-paper": "mxnet-fused", "googlenet-bvlc": "mxnet-fused",
                 "googlenet-gluoncv": "mxnet-fused"}
AUTO_FALLBACK = "mxnet"


def resolve_backend(text: str, model: LoadedModel, ctxs: tuple) -> str:
    """The backend text that runs ``model`` on ``ctxs``: ``text`` itself, or for ``auto`` (options:
    ``micro_batch`` only) the backend :data:`AUTO_BACKENDS` gives the model, with those options.

    What a store records is always this resolved backend, never ``auto``.
    """
    name, _, rest = text.partition(":")
    if name != AUTO:
        return text
    for item in filter(None, rest.split(",")):
        if item.partition("=")[0] != "micro_batch" or "=" not in item:
            raise ReproError(f"backend {text!r}: bad option {item!r}; auto accepts micro_batch=N only "
                             f"(name the backend to give it other options)")
    if model.onnx is not None:
        chosen = "onnxruntime"
    elif len(ctxs) != 1 or ctxs[0].device_type != "cpu":
        chosen = "mxnet"
    else:
        chosen = AUTO_BACKENDS.get(model.spec.id, AUTO_FALLBACK)
    return chosen + (f":{rest}" if rest else "")


def parse_backend(text: str) -> tuple[str, dict[str, str]]:
    """``NAME[:key=value,...]`` -> (registered name, options); unknown names and options are errors.

    Every backend also accepts ``micro_batch=N``: crops per forward inside the backend (see
    :func:`build_predictor`).
    """
    name, _, rest = text.partition(":")
    accepted = BACKENDS.get(name).options + ("micro_batch",)
    options = {}
    for item in filter(None, rest.split(",")):
        key, equals, value = item.partition("=")
        if not equals or key not in accepted:
            raise ReproError(f"backend {text!r}: bad option {item!r}; {name} accepts key=value "
                             f"options: {', '.join(accepted)}")
        options[key] = value
    return name, options


def backend_with(text: str, **options: object) -> str:
    """``text`` with ``options`` added (or replaced): ``backend_with("mxnet", micro_batch=8)``."""
    name, current = parse_backend(text)
    merged = {**current, **{key: str(value) for key, value in options.items()}}
    return name + (":" + ",".join(f"{k}={v}" for k, v in merged.items()) if merged else "")


def micro_batch_size(batch: int, limit: int) -> int:
    """Crops per forward for batches of ``batch``: ``batch`` itself up to ``limit``; above it the
    largest divisor of ``batch`` not above ``limit`` (no padding), or ``limit`` when that divisor
    is under half of it (the last piece is then padded)."""
    if batch <= limit:
        return batch
    divisor = max(d for d in range(1, limit + 1) if batch % d == 0)
    return divisor if 2 * divisor >= limit else limit


def _in_pieces(predict: Predictor, piece: int) -> Predictor:
    """``predict`` (built for ``piece`` crops) applied to a larger batch piece by piece."""
    def predict_batch(batch: np.ndarray) -> np.ndarray:
        parts = []
        for start in range(0, len(batch), piece):
            part = batch[start:start + piece]
            if len(part) < piece:
                part = np.concatenate([part, np.zeros((piece - len(part),) + part.shape[1:], part.dtype)])
            parts.append(predict(part)[:len(batch) - start])
        return np.concatenate(parts)
    return predict_batch


def build_predictor(model: LoadedModel, backend: str, ctxs: tuple,
                    batch_shape: tuple[int, ...]) -> Predictor:
    """The predictor of ``model`` under ``backend`` (``NAME[:key=value,...]``) for ``batch_shape``.

    On the CPU a batch larger than ``micro_batch`` (default :data:`MICRO_BATCH`) runs in pieces of
    :func:`micro_batch_size` crops: a 144-crop forward at once is slower (activations of 144 crops
    leave the caches) and holds ~2 GB; on GPUs the default is the whole batch.
    """
    name, options = parse_backend(backend)
    if batch_shape[-1] != 3 or len(batch_shape) != 4:
        raise ReproError(f"batches are (N, C, C, 3) uint8 crops, not {batch_shape}")
    spec = BACKENDS.get(name)
    if model.onnx is not None and name != "onnxruntime":
        raise ReproError(f"model {model.ref.text} is an ONNX file: run it with --backend onnxruntime "
                         f"(not {name})")
    for package in spec.requires:
        try:
            __import__(package)
        except ImportError as exc:
            raise ReproError(f"backend {name} needs the {package} package: pip install "
                             f"'googlenet-repro[bench]'") from exc
    on_cpu = all(ctx.device_type == "cpu" for ctx in ctxs)
    limit = options.pop("micro_batch", str(MICRO_BATCH if on_cpu else batch_shape[0]))
    if not limit.isdigit() or int(limit) < 1:
        raise ReproError(f"backend {backend!r}: micro_batch must be a positive integer, not {limit!r}")
    piece = micro_batch_size(batch_shape[0], int(limit))
    predict = spec.build(model, ctxs, (piece,) + tuple(batch_shape[1:]), **options)
    if piece != batch_shape[0]:
        predict = _in_pieces(predict, piece)
    # One forward now, so that the first batch of a run costs what every batch costs (graph build,
    # static allocation, oneDNN primitive creation, ONNX Runtime's first-run kernel setup).
    predict(np.zeros(batch_shape, dtype=np.uint8))
    return predict
