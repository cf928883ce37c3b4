"""Caffe bvlc_googlenet import, on a narrow bvlc_googlenet written here as real prototxt + caffemodel.

The test network follows BVLC's deploy.prototxt layer by layer (names, types, kernels, the Table 1
widths scaled to WIDTH), with train_val's aux heads in the caffemodel as BVLC's snapshot has them. The
protobuf encoder below is the test's own; the importer only decodes. Every weight is random, so a
mapping or layout bug shows up as a wrong parameter or a forward that differs from numpy.
"""
from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from protocols import paper
from repro.errors import ReproError
from repro.models.caffe_format import CaffeBlob, read_caffemodel
from repro.models.caffe_import import import_caffe, load_caffe_googlenet
from repro.models.googlenet_paper import GoogLeNetPaper, scaled
from repro.models.weights import initialize_random

WIDTH, CLASSES = 0.25, 10
ENCODINGS = ("layer", "layers")  # current and V1 Caffe encodings
V1_TYPES = {"Convolution": ("CONVOLUTION", 4), "InnerProduct": ("INNER_PRODUCT", 14),
            "Pooling": ("POOLING", 17), "LRN": ("LRN", 15), "ReLU": ("RELU", 18),
            "Concat": ("CONCAT", 3), "Dropout": ("DROPOUT", 6), "Softmax": ("SOFTMAX", 20)}


# ---- the test network, described the Caffe way ---------------------------------------------------

@dataclass
class Layer:
    name: str
    type: str
    bottoms: list[str]
    params: dict[str, dict] = field(default_factory=dict)
    weight_shape: tuple[int, ...] | None = None
    top: str = ""

    def __post_init__(self):
        self.top = self.top or self.name


def bvlc_googlenet(width: float = WIDTH, classes: int = CLASSES) -> list[Layer]:
    """bvlc_googlenet's layers (deploy.prototxt order, aux heads after 4a and 4d), channels scaled."""
    w = lambda c: scaled(c, width)  # noqa: E731
    layers: list[Layer] = []

    def conv(name, bottom, cin, cout, kernel, stride=1, pad=0):
        param = {"num_output": cout, "kernel_size": kernel}
        param.update({"stride": stride} if stride != 1 else {})
        param.update({"pad": pad} if pad else {})
        layers.append(Layer(name, "Convolution", [bottom], {"convolution_param": param},
                            (cout, cin, kernel, kernel)))
        relu = name.replace("/", "/relu_", 1) if "/" in name else name + "_relu"
        layers.append(Layer(relu, "ReLU", [name], top=name))
        return name

    def pool(name, bottom, kind, kernel, stride, pad=0):
        param = {"pool": kind, "kernel_size": kernel, "stride": stride}
        param.update({"pad": pad} if pad else {})
        layers.append(Layer(name, "Pooling", [bottom], {"pooling_param": param}))
        return name

    def lrn(name, bottom):
        layers.append(Layer(name, "LRN", [bottom],
                            {"lrn_param": {"local_size": 5, "alpha": 0.0001, "beta": 0.75}}))
        return name

    def fc(name, bottom, cin, cout):
        layers.append(Layer(name, "InnerProduct", [bottom],
                            {"inner_product_param": {"num_output": cout}}, (cout, cin)))
        return name

    x = conv("conv1/7x7_s2", "data", 3, w(64), 7, 2, 3)
    x = lrn("pool1/norm1", pool("pool1/3x3_s2", x, "MAX", 3, 2))
    x = conv("conv2/3x3_reduce", x, w(64), w(64), 1)
    x = pool("pool2/3x3_s2", lrn("conv2/norm2", conv("conv2/3x3", x, w(64), w(192), 3, pad=1)),
             "MAX", 3, 2)
    channels = w(192)
    for row in (row for row in paper.TABLE1 if row.layer.startswith("inception")):
        stage = row.layer.split()[1]
        p = f"inception_{stage}/"
        ends = [conv(p + "1x1", x, channels, w(row.n1x1), 1),
                conv(p + "3x3", conv(p + "3x3_reduce", x, channels, w(row.n3x3_reduce), 1),
                     w(row.n3x3_reduce), w(row.n3x3), 3, pad=1),
                conv(p + "5x5", conv(p + "5x5_reduce", x, channels, w(row.n5x5_reduce), 1),
                     w(row.n5x5_reduce), w(row.n5x5), 5, pad=2),
                conv(p + "pool_proj", pool(p + "pool", x, "MAX", 3, 1, 1), channels,
                     w(row.pool_proj), 1)]
        layers.append(Layer(p + "output", "Concat", ends))
        x, channels = p + "output", w(row.n1x1) + w(row.n3x3) + w(row.n5x5) + w(row.pool_proj)
        if stage in ("4a", "4d"):
            i = 1 if stage == "4a" else 2
            a = pool(f"loss{i}/ave_pool", x, "AVE", 5, 3)
            a = conv(f"loss{i}/conv", a, channels, w(128), 1)
            a = fc(f"loss{i}/fc", a, w(128) * 4 * 4, w(1024))
            fc(f"loss{i}/classifier", a, w(1024), classes)
        if stage in ("3b", "4e"):
            x = pool(f"pool{3 if stage == '3b' else 4}/3x3_s2", x, "MAX", 3, 2)
    x = pool("pool5/7x7_s1", x, "AVE", 7, 1)
    layers.append(Layer("pool5/drop_7x7_s1", "Dropout", [x],
                        {"dropout_param": {"dropout_ratio": 0.4}}, top=x))
    layers.append(Layer("prob", "Softmax", [fc("loss3/classifier", x, channels, classes)]))
    return layers


def random_blobs(layers: list[Layer], seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.RandomState(seed)
    blobs = {}
    for layer in layers:
        if layer.weight_shape:
            fan_in = math.prod(layer.weight_shape[1:])
            weight = rng.normal(0, math.sqrt(2 / fan_in), layer.weight_shape).astype(np.float32)
            blobs[layer.name] = (weight, rng.normal(0, 0.1, layer.weight_shape[0]).astype(np.float32))
    return blobs


def deploy_layers(layers: list[Layer]) -> list[Layer]:
    """What deploy.prototxt lists: no aux heads."""
    return [layer for layer in layers if not layer.name.startswith(("loss1/", "loss2/"))]


# ---- writers -------------------------------------------------------------------------------------

def write_prototxt(path: Path, layers: list[Layer], encoding: str) -> Path:
    v1 = encoding == "layers"
    out = ['name: "GoogleNet"  # narrow test copy', 'input: "data"']
    dims = [f"dim: {d}" for d in (10, 3, 224, 224)]  # V1 files: input_dim; current: input_shape
    out += [f"input_{d}" for d in dims] if v1 else ["input_shape {", *dims, "}"]
    for layer in layers:
        layer_type = V1_TYPES[layer.type][0] if v1 else f'"{layer.type}"'
        out += [f"{encoding} {{", f'  name: "{layer.name}"', f"  type: {layer_type}"]
        out += [f'  bottom: "{bottom}"' for bottom in layer.bottoms] + [f'  top: "{layer.top}"']
        if layer.weight_shape and not v1:
            out += ["  param {", "    lr_mult: 1", "    decay_mult: 1", "  }"]
        for block, values in layer.params.items():
            out.append(f"  {block} {{")
            out += [f"    {key}: {value}" for key, value in values.items()]
            if layer.weight_shape:  # as in BVLC's files: nested messages the importer must skip
                out += ["    weight_filler {", '      type: "xavier"', "      std: 0.03", "    }"]
            out.append("  }")
        out.append("}")
    path.write_text("\n".join(out) + "\n")
    return path


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def encode_blob(array: np.ndarray, encoding: str, packed: bool = True) -> bytes:
    shape = array.shape
    if encoding == "layers":  # V1 files: legacy 4-D num/channels/height/width
        legacy = (1,) * (4 - len(shape)) + shape
        head = b"".join(varint_field(number, dim) for number, dim in zip((1, 2, 3, 4), legacy))
    else:
        head = length_delimited(7, length_delimited(1, b"".join(varint(d) for d in shape)))
    values = array.astype("<f4").ravel()
    if packed:
        return head + length_delimited(5, values.tobytes())
    return head + b"".join(varint(5 << 3 | 5) + struct.pack("<f", v) for v in values)


def write_caffemodel(path: Path, layers: list[Layer], blobs: dict, encoding: str) -> Path:
    v1 = encoding == "layers"
    net = length_delimited(1, b"GoogleNet")
    for layer in layers:
        name = layer.name.encode()
        if v1:
            body = length_delimited(4, name) + varint_field(5, V1_TYPES[layer.type][1])
        else:
            body = length_delimited(1, name) + length_delimited(2, layer.type.encode())
        body += b"".join(length_delimited(3 if v1 else 4, top.encode()) for top in [layer.top])
        if layer.name in blobs:
            weight, bias = blobs[layer.name]
            # the current encoding's biases go unpacked, to cover both float encodings
            encoded = (encode_blob(weight, encoding), encode_blob(bias, encoding, packed=v1))
            body += b"".join(length_delimited(6 if v1 else 7, blob) for blob in encoded)
        net += length_delimited(2 if v1 else 100, body)
    path.write_bytes(net)
    return path


def write_model(tmp_path: Path, encoding: str, layers: list[Layer] | None = None,
                blobs: dict | None = None, prototxt_layers: list[Layer] | None = None):
    layers = layers or bvlc_googlenet()
    blobs = random_blobs(layers) if blobs is None else blobs
    prototxt = write_prototxt(tmp_path / f"deploy-{encoding}.prototxt",
                              prototxt_layers or deploy_layers(layers), encoding)
    caffemodel = write_caffemodel(tmp_path / f"net-{encoding}.caffemodel", layers, blobs, encoding)
    return prototxt, caffemodel, blobs


def narrow_net(aux: bool = True) -> GoogLeNetPaper:
    net = GoogLeNetPaper(classes=CLASSES, width=WIDTH, aux=aux)
    initialize_random(net, seed=3, input_size=224)
    return net


def gluon_block(net: GoogLeNetPaper, caffe_name: str):
    """The test's own reading of which Gluon layer a bvlc_googlenet layer is."""
    stem = {"conv1/7x7_s2": net.conv1, "conv2/3x3_reduce": net.conv2[0], "conv2/3x3": net.conv2[1],
            "loss3/classifier": net.linear}
    if caffe_name in stem:
        return stem[caffe_name]
    head, layer = caffe_name.split("/")
    if head.startswith("inception_"):
        branch, index = {"1x1": (0, 0), "3x3_reduce": (1, 0), "3x3": (1, 1), "5x5_reduce": (2, 0),
                         "5x5": (2, 1), "pool_proj": (3, 1)}[layer]
        return getattr(net, "inception" + head.split("_")[1])[branch][index]
    return getattr(net, "aux" + head[-1])[{"conv": 1, "fc": 3, "classifier": 5}[layer]]


# ---- numpy forward, from the raw Caffe arrays ----------------------------------------------------

def np_conv_relu(x, weight, bias, stride=1, pad=0):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x, weight.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.maximum(np.einsum("nchwij,ocij->nohw", windows, weight) + bias[:, None, None], 0)


def np_max_pool(x, kernel, stride, pad=0):
    """Caffe max pooling: output size rounded up, windows clipped at the border."""
    size = x.shape[2] + 2 * pad
    out = math.ceil((size - kernel) / stride) + 1
    extra = (out - 1) * stride + kernel - size
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad + extra), (pad, pad + extra)), constant_values=-np.inf)
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(4, 5))


def np_lrn(x, size=5, alpha=1e-4, beta=0.75, k=1.0):
    squares = np.pad(x ** 2, ((0, 0), (size // 2, size // 2), (0, 0), (0, 0)))
    window_sums = sliding_window_view(squares, size, axis=1).sum(axis=-1)
    return x / (k + alpha / size * window_sums) ** beta


# ---- an imported network, per encoding -----------------------------------------------------------

@pytest.fixture(scope="module", params=ENCODINGS)
def imported(request, tmp_path_factory):
    prototxt, caffemodel, blobs = write_model(tmp_path_factory.mktemp(request.param), request.param)
    net = narrow_net(aux=True)
    report = import_caffe(prototxt, caffemodel, net)
    return net, blobs, report, request.param


def test_every_parameter_equals_the_written_array(imported):
    net, blobs, report, encoding = imported
    assert report.encoding == encoding
    assert set(report.loaded) == set(blobs) and len(report.loaded) == 58 + 6
    assert report.parameters == sum(w.size + b.size for w, b in blobs.values())
    assert report.skipped == report.left_initialised == ()
    for name, (weight, bias) in blobs.items():
        block = gluon_block(net, name)
        np.testing.assert_array_equal(block.weight.data().asnumpy(), weight, err_msg=name)
        np.testing.assert_array_equal(block.bias.data().asnumpy(), bias, err_msg=name)
    n_params = len(net._collect_params_with_prefix())
    assert n_params == 2 * len(blobs)  # nothing in the network was left out


def test_first_stage_equals_numpy_forward_of_the_caffe_arrays(imported):
    net, blobs, _, _ = imported
    rng = np.random.RandomState(1)
    # 39x39 gives a 20x20 conv1 map, so the 3x3/2 pool's ceil rounding adds a clipped window.
    x = rng.uniform(-120, 130, size=(2, 3, 39, 39)).astype(np.float32)
    pooled = np_max_pool(np_conv_relu(x, *blobs["conv1/7x7_s2"], stride=2, pad=3), 3, 2)
    want = np_lrn(pooled)
    assert not np.allclose(want, pooled, rtol=1e-2)  # the input is large enough for LRN to matter
    got = net.pool1(net.conv1(mx.nd.array(x))).asnumpy()
    assert got.shape == (2, scaled(64, WIDTH), 10, 10)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_inception_module_equals_numpy_forward(imported):
    # 4c: its 1x1 and 3x3_reduce convolutions have equal shapes, so only values tell them apart.
    net, blobs, _, _ = imported
    channels = blobs["inception_4c/1x1"][0].shape[1]
    x = np.random.RandomState(2).uniform(0, 1, size=(1, channels, 7, 7)).astype(np.float32)
    b = {name.split("/")[1]: arrays for name, arrays in blobs.items()
         if name.startswith("inception_4c/")}
    want = np.concatenate([
        np_conv_relu(x, *b["1x1"]),
        np_conv_relu(np_conv_relu(x, *b["3x3_reduce"]), *b["3x3"], pad=1),
        np_conv_relu(np_conv_relu(x, *b["5x5_reduce"]), *b["5x5"], pad=2),
        np_conv_relu(np_max_pool(x, 3, 1, 1), *b["pool_proj"])], axis=1)
    np.testing.assert_allclose(net.inception4c(mx.nd.array(x)).asnumpy(), want, rtol=1e-4, atol=1e-5)


def test_aux_head_and_classifier_equal_numpy_forward(imported):
    net, blobs, _, _ = imported
    rng = np.random.RandomState(3)
    x = rng.uniform(0, 1, size=(2, blobs["loss2/conv"][0].shape[1], 14, 14)).astype(np.float32)
    pooled = sliding_window_view(x, (5, 5), axis=(2, 3))[:, :, ::3, ::3].mean(axis=(4, 5))
    hidden = np_conv_relu(pooled, *blobs["loss2/conv"]).reshape(2, -1)  # Caffe flattens C, H, W
    hidden = np.maximum(hidden @ blobs["loss2/fc"][0].T + blobs["loss2/fc"][1], 0)
    want = hidden @ blobs["loss2/classifier"][0].T + blobs["loss2/classifier"][1]
    np.testing.assert_allclose(net.aux2(mx.nd.array(x)).asnumpy(), want, rtol=1e-4, atol=1e-5)
    features = rng.uniform(0, 1, size=(2, blobs["loss3/classifier"][0].shape[1])).astype(np.float32)
    want = features @ blobs["loss3/classifier"][0].T + blobs["loss3/classifier"][1]
    got = net.linear(mx.nd.array(features)).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_net_without_aux_heads_skips_them(tmp_path):
    prototxt, caffemodel, blobs = write_model(tmp_path, "layer")
    net = narrow_net(aux=False)
    report = import_caffe(prototxt, caffemodel, net)
    assert set(report.skipped) == {n for n in blobs if n.startswith(("loss1/", "loss2/"))}
    assert len(report.skipped) == 6 and len(report.loaded) == 58


def test_caffemodel_without_aux_heads_leaves_them_initialised(tmp_path):
    layers = deploy_layers(bvlc_googlenet())
    prototxt, caffemodel, _ = write_model(tmp_path, "layers", layers=layers)
    net = narrow_net(aux=True)
    before = net.aux1[1].weight.data().asnumpy()
    report = import_caffe(prototxt, caffemodel, net)
    assert report.left_initialised == ("loss1/conv", "loss1/fc", "loss1/classifier", "loss2/conv",
                                       "loss2/fc", "loss2/classifier")
    np.testing.assert_array_equal(net.aux1[1].weight.data().asnumpy(), before)
    with pytest.raises(ReproError, match=r"no weights for aux-head layer 'loss1/conv'.*aux=False"):
        load_caffe_googlenet(prototxt, caffemodel, classes=CLASSES, width=WIDTH, aux=True)


def test_load_caffe_googlenet_uses_the_bvlc_input_convention(tmp_path):
    prototxt, caffemodel, blobs = write_model(tmp_path, "layers")
    net, spec = load_caffe_googlenet(prototxt, caffemodel, classes=CLASSES, width=WIDTH, aux=True)
    assert spec.id == "googlenet-bvlc" and spec.channel_order == "BGR"
    assert spec.mean == (104.0, 117.0, 123.0) and spec.std == (1.0, 1.0, 1.0)
    np.testing.assert_array_equal(net.aux1[5].weight.data().asnumpy(), blobs["loss1/classifier"][0])
    assert net(mx.nd.zeros((1, 3, 224, 224))).shape == (1, CLASSES)


# ---- errors: each names the layer, and nothing is changed ----------------------------------------

@pytest.fixture(scope="module")
def blank_net():
    return narrow_net(aux=True)


def assert_import_fails(net, prototxt, caffemodel, pattern):
    before = {name: p.data().asnumpy() for name, p in net._collect_params_with_prefix().items()}
    with pytest.raises(ReproError, match=pattern):
        import_caffe(prototxt, caffemodel, net)
    for name, param in net._collect_params_with_prefix().items():
        np.testing.assert_array_equal(param.data().asnumpy(), before[name], err_msg=name)


def edited(layers: list[Layer], name: str, block: str, **changes) -> list[Layer]:
    out = []
    for layer in layers:
        if layer.name == name:
            layer = Layer(layer.name, layer.type, list(layer.bottoms),
                          {**layer.params, block: {**layer.params[block], **changes}},
                          layer.weight_shape, layer.top)
        out.append(layer)
    return out


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_prototxt_with_wrong_num_output_names_the_layer(tmp_path, blank_net, encoding):
    layers = bvlc_googlenet()
    wrong = edited(deploy_layers(layers), "inception_4b/5x5", "convolution_param",
                   num_output=scaled(64, WIDTH) + 1)
    prototxt, caffemodel, _ = write_model(tmp_path, encoding, layers, prototxt_layers=wrong)
    assert_import_fails(blank_net, prototxt, caffemodel,
                        r"deploy-layers?\.prototxt:\d+: layer 'inception_4b/5x5' does not match the "
                        r"network: num_output 17 \(network: 16\)")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_caffemodel_missing_a_layer_names_it(tmp_path, blank_net, encoding):
    layers = bvlc_googlenet()
    blobs = random_blobs(layers)
    del blobs["inception_5a/3x3"]
    prototxt, caffemodel, _ = write_model(tmp_path, encoding, layers, blobs=blobs)
    assert_import_fails(blank_net, prototxt, caffemodel,
                        r"has no weights for layer 'inception_5a/3x3'")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_blob_with_wrong_shape_names_layer_and_both_shapes(tmp_path, blank_net, encoding):
    layers = bvlc_googlenet()
    blobs = random_blobs(layers)
    weight, bias = blobs["loss3/classifier"]
    blobs["loss3/classifier"] = (np.ascontiguousarray(weight.T), bias)
    prototxt, caffemodel, _ = write_model(tmp_path, encoding, layers, blobs=blobs)
    stored = "(1, 1, 256, 10)" if encoding == "layers" else "(256, 10)"
    assert_import_fails(blank_net, prototxt, caffemodel,
                        rf"layer 'loss3/classifier' weight has shape {re.escape(stored)}, the "
                        rf"network expects \(10, 256\)")


def test_leading_ones_are_accepted_only_in_legacy_shapes():
    # Caffe's rule: a V1 blob is 4-D (num, channels, height, width); a BlobShape must match exactly.
    data = np.zeros(20, np.float32)
    assert CaffeBlob((1, 1, 2, 10), data, legacy_shape=True).fits((2, 10))
    assert not CaffeBlob((1, 1, 2, 10), data, legacy_shape=False).fits((2, 10))
    assert not CaffeBlob((1, 1, 10, 2), data, legacy_shape=True).fits((2, 10))


def test_swapped_concat_order_is_refused(tmp_path, blank_net):
    layers = bvlc_googlenet()
    swapped = []
    for layer in deploy_layers(layers):
        if layer.name == "inception_4c/output":
            first, second, *rest = layer.bottoms
            layer = Layer(layer.name, "Concat", [second, first, *rest])
        swapped.append(layer)
    prototxt, caffemodel, _ = write_model(tmp_path, "layer", layers, prototxt_layers=swapped)
    assert_import_fails(blank_net, prototxt, caffemodel,
                        r"layer 'inception_4c/output' concatenates \['inception_4c/3x3', "
                        r"'inception_4c/1x1'")


def test_wrong_lrn_and_pool_settings_are_refused(tmp_path, blank_net):
    layers = bvlc_googlenet()
    lrn = edited(deploy_layers(layers), "pool1/norm1", "lrn_param", alpha=0.001)
    prototxt, caffemodel, _ = write_model(tmp_path, "layer", layers, prototxt_layers=lrn)
    assert_import_fails(blank_net, prototxt, caffemodel,
                        r"layer 'pool1/norm1' does not match the network: alpha 0\.001 "
                        r"\(network: 0\.0001\)")
    pool = edited(deploy_layers(layers), "inception_3b/pool", "pooling_param", pool="AVE")
    prototxt, caffemodel, _ = write_model(tmp_path, "layer", layers, prototxt_layers=pool)
    assert_import_fails(blank_net, prototxt, caffemodel,
                        r"'inception_3b/pool'.*pool AVE \(network: MAX\)")


def test_weights_without_a_counterpart_are_refused(tmp_path, blank_net):
    layers = bvlc_googlenet()
    layers.append(Layer("extra/fc", "InnerProduct", ["pool5/7x7_s1"], weight_shape=(3, 4)))
    prototxt, caffemodel, _ = write_model(tmp_path, "layer", layers,
                                          prototxt_layers=deploy_layers(layers[:-1]))
    assert_import_fails(blank_net, prototxt, caffemodel,
                        r"layer 'extra/fc' has weights but no counterpart")


def test_unreadable_files_are_clear_errors(tmp_path, blank_net):
    prototxt, caffemodel, _ = write_model(tmp_path, "layer")
    not_caffe = tmp_path / "photo.caffemodel"
    not_caffe.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    with pytest.raises(ReproError, match=r"photo\.caffemodel .*not a Caffe \.caffemodel"):
        read_caffemodel(not_caffe)
    truncated = tmp_path / "truncated.caffemodel"
    truncated.write_bytes(caffemodel.read_bytes()[:-1000])
    with pytest.raises(ReproError, match=r"truncated\.caffemodel .*not a Caffe \.caffemodel"):
        read_caffemodel(truncated)
    broken = tmp_path / "broken.prototxt"
    broken.write_text(prototxt.read_text().rsplit("}", 1)[0])
    with pytest.raises(ReproError, match=r"broken\.prototxt:\d+: '\{' is never closed"):
        import_caffe(broken, caffemodel, blank_net)
    with pytest.raises(ReproError, match=r"missing\.caffemodel does not exist"):
        import_caffe(prototxt, tmp_path / "missing.caffemodel", blank_net)


def test_only_a_materialised_googlenet_paper_is_accepted(tmp_path):
    prototxt, caffemodel, _ = write_model(tmp_path, "layer")
    with pytest.raises(ReproError, match=r"not a Dense"):
        import_caffe(prototxt, caffemodel, mx.gluon.nn.Dense(3))
    with pytest.raises(ReproError, match=r"has no shape yet.*initialize_random"):
        import_caffe(prototxt, caffemodel, GoogLeNetPaper(classes=CLASSES, width=WIDTH))
