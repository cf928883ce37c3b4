"""The paper's GoogLeNet in Gluon: shapes, aux heads, widths, parameter loading, GluonCV weights."""
from __future__ import annotations

import csv

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from scipy.special import softmax

from protocols import paper
from repro.cli import main
from repro.errors import ReproError
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.counting import count_rows
from repro.models.googlenet_paper import LRN, GoogLeNetPaper, LocalResponseNorm
from repro.models.specs import MODELS
from repro.models.weights import gluoncv_weights, initialize_random, load_params
from repro.registry import UnknownIdError


@pytest.fixture(scope="module")
def paper_net():
    net = MODELS.get("googlenet-paper").create(aux=True)
    initialize_random(net, seed=0, input_size=224)
    return net


def test_every_stage_has_table1_output_shape(paper_net):
    rows = count_rows(paper_net, MODELS.get("googlenet-paper").table1_rows)
    printed = [r.output for r in paper.TABLE1 if r.layer != "softmax"]
    assert [r.output for r in rows] == printed


def test_stage_shapes_by_direct_forward(paper_net):
    # Independent of the counter: run the stages by hand and read the shapes.
    x = mx.nd.zeros((2, 3, 224, 224))
    x = paper_net.pool1(paper_net.conv1(x))
    assert x.shape == (2, 64, 56, 56)
    x = paper_net.pool2(paper_net.conv2(x))
    assert x.shape == (2, 192, 28, 28)
    x = paper_net.pool3(paper_net.inception3b(paper_net.inception3a(x)))
    assert x.shape == (2, 480, 14, 14)
    for name in ("4a", "4b", "4c", "4d", "4e"):
        x = getattr(paper_net, f"inception{name}")(x)
    assert x.shape == (2, 832, 14, 14)
    x = paper_net.inception5b(paper_net.inception5a(paper_net.pool4(x)))
    assert x.shape == (2, 1024, 7, 7)


def test_totals_match_the_widths_of_table1(paper_net):
    rows = count_rows(paper_net, MODELS.get("googlenet-paper").table1_rows)
    assert sum(r.params for r in rows) == 6_998_552
    assert 1.57e9 < sum(r.macs for r in rows) < 1.59e9
    conv1 = rows[0]
    assert conv1.params == 7 * 7 * 3 * 64 + 64
    assert conv1.macs == 112 * 112 * 64 * 7 * 7 * 3


def test_aux_heads_in_training_mode_only(paper_net):
    x = mx.nd.random.uniform(shape=(3, 3, 224, 224))
    with autograd.record(train_mode=True):
        out = paper_net(x)
    assert isinstance(out, tuple) and [o.shape for o in out] == [(3, 1000)] * 3
    with autograd.predict_mode():
        out = paper_net(x)
    assert isinstance(out, mx.nd.NDArray) and out.shape == (3, 1000)


def test_hybridized_net_switches_between_training_and_inference_graphs():
    net = GoogLeNetPaper(classes=7, width=0.25)
    initialize_random(net, seed=1, input_size=112)
    net.hybridize(static_alloc=True, static_shape=True)
    x = mx.nd.random.uniform(shape=(2, 3, 112, 112))
    eager = net(x)
    with autograd.record(train_mode=True):
        main_out, aux1, aux2 = net(x)
    assert aux1.shape == aux2.shape == (2, 7)
    again = net(x)
    assert isinstance(again, mx.nd.NDArray)
    np.testing.assert_allclose(again.asnumpy(), eager.asnumpy(), rtol=1e-5, atol=1e-6)


def test_narrow_network_runs_on_small_input():
    net = MODELS.get("googlenet-paper").create(classes=10, width=0.25, aux=True)
    initialize_random(net, seed=0, input_size=112)
    assert net(mx.nd.zeros((4, 3, 112, 112))).shape == (4, 10)
    with autograd.train_mode():
        assert [o.shape for o in net(mx.nd.zeros((4, 3, 112, 112)))] == [(4, 10)] * 3
    assert net.conv1.weight.shape == (16, 3, 7, 7)


def test_lrn_matches_caffe_formula():
    # Caffe ACROSS_CHANNELS: x / (k + alpha/n * sum over n neighbouring channels of x^2)^beta.
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 50, size=(1, 8, 3, 3)).astype(np.float32)
    got = mx.nd.LRN(mx.nd.array(x), **LRN).asnumpy()
    half = LRN["nsize"] // 2
    want = np.empty_like(x)
    for c in range(8):
        window = x[:, max(0, c - half):c + half + 1]
        scale = LRN["knorm"] + LRN["alpha"] / LRN["nsize"] * (window ** 2).sum(axis=1)
        want[:, c] = x[:, c] / scale ** LRN["beta"]
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("hybridize", [False, True])
def test_the_training_graphs_lrn_is_mxnets_lrn_forward_and_backward(hybridize):
    """The block's training form (a banded 1x1 convolution, for a fast backward) against MXNet's own
    LRN operator and its gradient, on activations as large as a network's (up to ~100)."""
    rng = np.random.RandomState(1)
    x = mx.nd.array(rng.uniform(0, 100, size=(2, 12, 5, 5)).astype(np.float32))
    head = mx.nd.array(rng.normal(size=(2, 12, 5, 5)).astype(np.float32))
    block = LocalResponseNorm(12)
    if hybridize:
        block.hybridize()
    results = {}
    for name, run in (("block", block), ("mxnet", lambda v: mx.nd.LRN(v, **LRN))):
        data = x.copy()
        data.attach_grad()
        with mx.autograd.record():  # training mode: the block takes its training form
            out = run(data)
        out.backward(head)
        results[name] = (out.asnumpy(), data.grad.asnumpy())
    np.testing.assert_allclose(results["block"][0], results["mxnet"][0], rtol=1e-5)
    np.testing.assert_allclose(results["block"][1], results["mxnet"][1], rtol=1e-4, atol=1e-6)
    assert not np.allclose(results["mxnet"][0], x.asnumpy(), rtol=1e-3)  # the normalisation bites here
    np.testing.assert_array_equal(LocalResponseNorm(12)(x).asnumpy(), mx.nd.LRN(x, **LRN).asnumpy())
    for mode, op in ((mx.autograd.train_mode, "Convolution"), (mx.autograd.predict_mode, "LRN")):
        with mode():
            graph = block.hybrid_forward(mx.sym, mx.sym.var("x")).tojson()
        assert f'"op": "{op}"' in graph and ('"op": "LRN"' in graph) == (op == "LRN")


def seeded_net(classes: int, width: float, seed: int, input_size: int = 112):
    net = MODELS.get("googlenet-paper").create(classes=classes, width=width)
    initialize_random(net, seed=seed, input_size=input_size)
    return net


def test_wrong_shapes_name_the_first_mismatched_parameter(tmp_path):
    path = tmp_path / "narrow.params"
    seeded_net(10, 0.25, seed=0).save_parameters(str(path))
    wide = seeded_net(10, 0.5, seed=0)
    with pytest.raises(ReproError, match=r"'conv1\.weight' has shape \(16, 3, 7, 7\).*\(32, 3, 7, 7\)"):
        load_params(wide, path)


def test_params_round_trip_gives_identical_outputs(tmp_path):
    a, b = seeded_net(5, 0.25, seed=3), seeded_net(5, 0.25, seed=4)
    path = tmp_path / "a.params"
    a.save_parameters(str(path))
    x = mx.nd.random.uniform(shape=(2, 3, 112, 112))
    assert not np.allclose(a(x).asnumpy(), b(x).asnumpy())
    load_params(b, path)
    np.testing.assert_array_equal(a(x).asnumpy(), b(x).asnumpy())


def test_params_of_another_architecture_are_refused(tmp_path):
    gluoncv_net = MODELS.get("googlenet-gluoncv").create(classes=10)
    initialize_random(gluoncv_net, seed=0, input_size=224)
    path = tmp_path / "gluoncv.params"
    gluoncv_net.save_parameters(str(path))
    net = MODELS.get("googlenet-paper").create(classes=10)
    initialize_random(net, seed=0, input_size=224)
    with pytest.raises(ReproError, match="another architecture"):
        load_params(net, path)


def test_random_init_is_reproducible_from_the_seed():
    outs = []
    for _ in range(2):
        net = GoogLeNetPaper(classes=4, width=0.25, aux=False)
        initialize_random(net, seed=11, input_size=96)
        outs.append(net(mx.nd.ones((1, 3, 96, 96))).asnumpy())
    np.testing.assert_array_equal(*outs)


def test_gluoncv_weights_absent_gives_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    with pytest.raises(ReproError) as err:
        gluoncv_weights("googlenet")
    message = str(err.value)
    assert "\n" not in message
    assert "googlenet-c7c89366.params" in message and str(tmp_path / "models") in message
    assert "c7c89366fb4410c0aeb34827795f7dab9423f950" in message
    assert not (tmp_path / "models").exists(), "nothing may be created or downloaded"


def test_gluoncv_weights_found_in_cache_load_into_the_model(tmp_path, monkeypatch):
    from gluoncv.model_zoo import model_store

    net = MODELS.get("googlenet-gluoncv").create()
    initialize_random(net, seed=0, input_size=224)
    saved = tmp_path / "saved.params"
    net.save_parameters(str(saved))
    from repro.models.weights import sha1_file
    sha1 = sha1_file(saved)
    # Stand-in for GluonCV's published file: its pinned hash is patched to this file's hash.
    monkeypatch.setitem(model_store._model_sha1, "googlenet", sha1)
    (tmp_path / "models").mkdir()
    saved.rename(tmp_path / "models" / f"googlenet-{sha1[:8]}.params")
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    path = gluoncv_weights("googlenet")
    other = MODELS.get("googlenet-gluoncv").create()
    initialize_random(other, seed=1, input_size=224)
    load_params(other, path)
    x = mx.nd.random.uniform(shape=(1, 3, 224, 224))
    np.testing.assert_array_equal(net(x).asnumpy(), other(x).asnumpy())
    path.write_bytes(b"corrupt")
    with pytest.raises(ReproError, match="corrupt"):
        gluoncv_weights("googlenet")


def test_classifier_normalises_inside_the_graph():
    spec = MODELS.get("googlenet-bvlc")
    net = spec.create(classes=6, width=0.25)
    initialize_random(net, seed=0, input_size=96)
    clf = prepare_for_inference(Classifier(net, spec))
    crops = np.random.RandomState(0).randint(0, 256, size=(3, 96, 96, 3)).astype(np.uint8)
    probs = clf(mx.nd.array(crops, dtype="uint8")).asnumpy()
    bgr = crops[..., ::-1].astype(np.float32) - np.array(spec.mean, dtype=np.float32)
    logits = net(mx.nd.array(bgr.transpose(0, 3, 1, 2))).asnumpy()
    want = softmax(logits, axis=1)
    np.testing.assert_allclose(probs, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_model_suggests_the_closest_id():
    with pytest.raises(UnknownIdError, match="Did you mean googlenet-paper"):
        MODELS.get("googlenet-papr")


def test_gluoncv_variant_has_no_width():
    with pytest.raises(ReproError, match="no width multiplier"):
        MODELS.get("googlenet-gluoncv").create(width=0.5)


def test_arch_cli_writes_table1_csv(tmp_path, capsys):
    out = tmp_path / "t1.csv"
    assert main(["arch", "--variant", "paper", "--csv", str(out)]) == 0
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:6] == ["layer", "output", "params", "macs", "paper_params", "paper_ops"]
    assert len(rows) == 18
    assert sum(int(r["params"]) for r in rows) == 6_998_552
    flagged = {r["layer"] for r in rows if r["inconsistent"] == "True"}
    assert flagged == {"conv1", "inception 4c", "inception 5a"}
    conv1 = rows[0]
    assert (conv1["paper_params"], conv1["paper_ops"]) == ("2700", "34000000")
    assert int(conv1["params_diff"]) == 9472 - 2700
    assert rows[1]["paper_params"] == ""  # the paper prints nothing for pools
    assert "6,998,552 parameters" in capsys.readouterr().out


def test_arch_cli_gluoncv_variant_shows_its_deviation(tmp_path):
    out = tmp_path / "g.csv"
    assert main(["arch", "--variant", "gluoncv", "--csv", str(out)]) == 0
    with open(out, newline="") as handle:
        rows = {r["layer"]: r for r in csv.DictReader(handle)}
    # 3x3 in place of 5x5: inception 3a has fewer parameters than the paper's widths give.
    assert int(rows["inception 3a"]["params"]) < 163_696
