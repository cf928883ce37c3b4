"""``onnx:`` model references: files the tests export with mx.onnx, run by ONNX Runtime.

The ONNX predictor must give what the MXNet classifier gives on the same uint8 crops (within 1e-4)
under each input convention; every malformed file or option is a one-line error.
"""
from __future__ import annotations

import mxnet as mx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from repro.errors import ReproError
from repro.models.backends import build_predictor, export_onnx
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.refs import load_model, parse_ref
from repro.models.specs import MODELS

SIZE, CLASSES = 64, 10
SPEC = MODELS.get("googlenet-paper")


@pytest.fixture(scope="module")
def narrow():
    """A random narrow googlenet-paper (its logits network) and its own MXNet classifier."""
    model = load_model(parse_ref("googlenet-paper", classes=CLASSES, width=0.25, input_size=SIZE,
                                 seed=4))
    return model


def crops(n: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (n, SIZE, SIZE, 3)).astype(np.uint8)


def mxnet_probs(model, batch: np.ndarray) -> np.ndarray:
    classifier = prepare_for_inference(Classifier(model.net, model.spec))
    return classifier(mx.nd.array(batch, dtype="uint8")).asnumpy()


class NHWCBGRSoftmax(mx.gluon.HybridBlock):
    """The same network behind another convention: NHWC BGR input, probabilities out."""

    def __init__(self, net, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.net = net

    def hybrid_forward(self, F, x):
        rgb = F.concat(*(F.slice_axis(x, axis=3, begin=c, end=c + 1) for c in (2, 1, 0)), dim=3)
        return F.softmax(self.net(F.transpose(rgb, axes=(0, 3, 1, 2))), axis=-1)


def export(block, path, shape, dynamic: bool = False):
    block.hybridize()
    with mx.autograd.predict_mode():
        block(mx.nd.zeros((1,) + shape[1:]))
    prefix = str(path.with_suffix(""))
    block.export(prefix)
    kwargs = dict(dynamic=True, dynamic_input_shapes=[(None,) + shape[1:]]) if dynamic else {}
    mx.onnx.export_model(f"{prefix}-symbol.json", f"{prefix}-0000.params", in_shapes=[shape],
                         in_types=[np.float32], onnx_file_path=str(path), **kwargs)
    return path


@pytest.fixture(scope="module")
def nchw_file(narrow, tmp_path_factory):
    return export(narrow.net, tmp_path_factory.mktemp("onnx") / "paper.onnx", (1, 3, SIZE, SIZE))


def onnx_predictor(ref: str, n: int):
    model = load_model(parse_ref(ref))
    return model, build_predictor(model, "onnxruntime", (mx.cpu(),), (n, SIZE, SIZE, 3))


def test_spec_convention_equals_the_mxnet_classifier(narrow, nchw_file):
    model, predict = onnx_predictor(f"onnx:{nchw_file}?spec=googlenet-paper", 3)
    convention = model.onnx.convention
    assert (convention.layout, convention.output, convention.input_size) == ("NCHW", "logits", SIZE)
    assert model.onnx.batch == 1 and model.ref.classes == CLASSES  # a fixed batch: run in pieces
    assert model.ref.name == "onnx-paper" and len(model.weights_sha256) == 64
    assert model.spec.mean == SPEC.mean and any("ONNX Runtime" in d for d in model.spec.deviations)
    batch = crops(3)
    got = predict(batch)
    want = mxnet_probs(narrow, batch)
    assert got.shape == (3, CLASSES) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.abs(got - want).max() < 1e-4 and not np.allclose(want, want[:1])  # inputs differ


def test_explicit_bgr_nhwc_convention_and_softmax_output(narrow, tmp_path):
    path = export(NHWCBGRSoftmax(narrow.net), tmp_path / "bgr.onnx", (1, SIZE, SIZE, 3),
                  dynamic=True)
    mean = ",".join(str(v) for v in SPEC.mean[::-1])
    std = ",".join(str(v) for v in SPEC.std[::-1])
    model, predict = onnx_predictor(f"onnx:{path}?order=BGR&mean={mean}&std={std}", 5)
    convention = model.onnx.convention
    assert convention.layout == "NHWC" and convention.output == "probabilities"  # read off the file
    assert model.onnx.batch is None
    batch = crops(5, seed=1)
    want = mxnet_probs(narrow, batch)
    np.testing.assert_allclose(predict(batch), want, atol=1e-4)
    # the wrong convention is visible: RGB order fed to this BGR network
    _, wrong = onnx_predictor(f"onnx:{path}?order=RGB&mean={mean}&std={std}", 5)
    assert np.abs(wrong(batch) - want).max() > 1e-3


def test_onnx_models_run_only_on_onnxruntime(nchw_file):
    model = load_model(parse_ref(f"onnx:{nchw_file}?spec=googlenet-paper"))
    with pytest.raises(ReproError, match=r"is an ONNX file: run it with --backend onnxruntime"):
        build_predictor(model, "mxnet", (mx.cpu(),), (2, SIZE, SIZE, 3))
    with pytest.raises(ReproError, match=r"takes 64px input \(fixed in the file\), not 96px: pass "
                                         r"--crop-size 64"):
        parse_ref(f"onnx:{nchw_file}?spec=googlenet-paper", input_size=96)


# ---- one-line errors -----------------------------------------------------------------------------

def tiny_model(path, in_shape, out_shape, op="Identity", elem=TensorProto.FLOAT, opset=13,
               outputs=1):
    nodes = [helper.make_node(op, ["x"], ["y"])] + [
        helper.make_node("Identity", ["x"], [f"y{i}"]) for i in range(1, outputs)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", elem, in_shape)],
                              [helper.make_tensor_value_info("y", elem, out_shape)] + [
                                  helper.make_tensor_value_info(f"y{i}", elem, in_shape)
                                  for i in range(1, outputs)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


def assert_ref_error(ref: str, pattern: str):
    with pytest.raises(ReproError, match=pattern) as info:
        parse_ref(ref)
    assert "\n" not in str(info.value)


def test_reference_options_are_checked(nchw_file, tmp_path):
    assert_ref_error(f"onnx:{nchw_file}", r"give the input convention: \?spec=ID")
    assert_ref_error(f"onnx:{nchw_file}?order=RGB", r"give the input convention")
    assert_ref_error(f"onnx:{nchw_file}?spec=googlenet-paper&colour=RGB", r"bad option colour=")
    assert_ref_error(f"onnx:{nchw_file}?order=GRB&mean=1", r"order must be RGB or BGR")
    assert_ref_error(f"onnx:{nchw_file}?order=RGB&mean=1,2", r"mean needs one value or three")
    assert_ref_error(f"onnx:{nchw_file}?order=RGB&mean=1&std=0", r"std needs .* all positive")
    assert_ref_error(f"onnx:{nchw_file}?spec=googlenet-paper&output=scores", r"output must be")
    assert_ref_error(f"onnx:{nchw_file}?spec=googlenet-papr", r"unknown model 'googlenet-papr'")
    assert_ref_error(f"onnx:{nchw_file}?spec=googlenet-paper&layout=CHWN", r"layout must be")
    assert_ref_error(f"onnx:{tmp_path}/net.pb", r"onnx:PATH\.onnx\[\?key=value")
    assert_ref_error(f"onnx:{tmp_path}/absent.onnx?spec=googlenet-paper", r"absent\.onnx does not exist")


def test_malformed_files_are_refused(tmp_path, narrow):
    ref = "?order=RGB&mean=0"
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xd8\xff\xe0 definitely not protobuf" * 10)
    assert_ref_error(f"onnx:{junk}{ref}", r"junk\.onnx is not an ONNX model")
    flat = tiny_model(tmp_path / "flat.onnx", [1, 10], [1, 10])
    assert_ref_error(f"onnx:{flat}{ref}", r"flat\.onnx: input has rank 2 .* takes \(N, 3, H, W\)")
    rgba = tiny_model(tmp_path / "rgba.onnx", [1, 4, 8, 8], [1, 4], op="GlobalAveragePool")
    assert_ref_error(f"onnx:{rgba}{ref}", r"rgba\.onnx: input shape \[1, 4, 8, 8\] has 4 channels")
    wide = tiny_model(tmp_path / "wide.onnx", [1, 3, 8, 16], [1, 3], op="GlobalAveragePool")
    assert_ref_error(f"onnx:{wide}{ref}", r"wide\.onnx: input is 8x16; .* square crops")
    old = tiny_model(tmp_path / "old.onnx", [1, 3, 8, 8], [1, 3], op="GlobalAveragePool", opset=6)
    assert_ref_error(f"onnx:{old}{ref}", r"old\.onnx uses ONNX opset 6; ONNX Runtime needs >= 7")
    maps = tiny_model(tmp_path / "maps.onnx", [1, 3, 8, 8], [1, 3, 8, 8])
    assert_ref_error(f"onnx:{maps}{ref}", r"maps\.onnx: output 'y' has shape \[1, 3, 8, 8\]; "
                                          r"expected \(N, classes\)")
    two = tiny_model(tmp_path / "two.onnx", [1, 3, 8, 8], [1, 3, 1, 1], op="GlobalAveragePool",
                     outputs=2)
    assert_ref_error(f"onnx:{two}{ref}", r"two\.onnx has 2 outputs")
    # a classifier exported by backends.export_onnx takes uint8 crops: not a plain network
    uint8 = tmp_path / "uint8.onnx"
    uint8.write_bytes(export_onnx(narrow, (1, SIZE, SIZE, 3)))
    assert_ref_error(f"onnx:{uint8}{ref}", r"uint8\.onnx: input 'data' is UINT8, not FLOAT")


def test_trailing_ones_in_the_output_and_symbolic_sizes(tmp_path):
    pooled = tiny_model(tmp_path / "pooled.onnx", ["n", 3, "h", "w"], ["n", 3, 1, 1],
                        op="GlobalAveragePool")
    model, predict = onnx_predictor(f"onnx:{pooled}?order=RGB&mean=0&std=255&size={SIZE}", 2)
    assert model.ref.classes == 3 and model.onnx.convention.input_size == SIZE
    batch = crops(2)
    means = batch.reshape(2, -1, 3).mean(axis=1) / 255  # the graph's logits: channel means
    want = np.exp(means) / np.exp(means).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(predict(batch), want, atol=1e-5)
