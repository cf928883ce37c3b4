"""Exported MXNet models (prefix-symbol.json + prefix-NNNN.params): export, reload, clear errors."""
from __future__ import annotations

import mxnet as mx
import numpy as np
import pytest

from repro.errors import ReproError
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.googlenet_paper import GoogLeNetPaper
from repro.models.mxnet_export import export_network, exported_paths, load_exported
from repro.models.specs import MODELS
from repro.models.weights import initialize_random

CLASSES = 10


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    net = GoogLeNetPaper(classes=CLASSES, width=0.25, aux=True)
    initialize_random(net, seed=5, input_size=224)
    prefix = tmp_path_factory.mktemp("export") / "narrow"
    symbol_file, params_file = export_network(net, prefix, input_size=224, epoch=2)
    return net, prefix, symbol_file, params_file


def test_export_writes_the_inference_graph_only(exported):
    net, prefix, symbol_file, params_file = exported
    assert (symbol_file, params_file) == exported_paths(prefix, 2)
    assert symbol_file.name == "narrow-symbol.json" and params_file.name == "narrow-0002.params"
    saved = mx.nd.load(str(params_file))
    aux_params = [p.name for head in (net.aux1, net.aux2) for p in head.collect_params().values()]
    assert len(saved) == 2 * 58 and not {f"arg:{name}" for name in aux_params} & set(saved)


def test_reloaded_model_gives_the_same_logits(exported):
    net, prefix, _, _ = exported
    loaded = load_exported(prefix, epoch=2)
    assert loaded.classes == CLASSES
    x = mx.nd.array(np.random.RandomState(0).uniform(-2, 2, size=(3, 3, 160, 160)))
    with mx.autograd.predict_mode():
        want = net(x).asnumpy()
    got = loaded(x)
    assert isinstance(got, mx.nd.NDArray)
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_reloaded_model_fits_the_classifier_interface(exported):
    net, prefix, _, _ = exported
    spec = MODELS.get("googlenet-paper")
    pixels = np.random.RandomState(1).randint(0, 256, size=(2, 224, 224, 3))
    crops = mx.nd.array(pixels, dtype="uint8")
    original = prepare_for_inference(Classifier(net, spec))
    reloaded = prepare_for_inference(Classifier(load_exported(prefix, epoch=2), spec))
    np.testing.assert_allclose(reloaded(crops).asnumpy(), original(crops).asnumpy(), rtol=1e-5,
                               atol=1e-7)


def test_missing_files_name_the_expected_paths(exported, tmp_path):
    _, prefix, symbol_file, _ = exported
    with pytest.raises(ReproError, match=r"narrow-0007\.params not found"):
        load_exported(prefix, epoch=7)
    with pytest.raises(ReproError, match=rf"{tmp_path}/nothing-symbol\.json and "
                                         rf"{tmp_path}/nothing-0000\.params not found"):
        load_exported(tmp_path / "nothing")


def write_toy_model(prefix, data: mx.sym.Symbol, output: mx.sym.Symbol, params: dict) -> None:
    output.save(f"{prefix}-symbol.json")
    mx.nd.save(f"{prefix}-0000.params", {f"arg:{k}": v for k, v in params.items()})


def test_input_not_named_data_is_refused(tmp_path):
    image = mx.sym.var("image")
    output = mx.sym.FullyConnected(mx.sym.flatten(image), num_hidden=4, name="fc")
    params = {"fc_weight": mx.nd.ones((4, 3 * 8 * 8)), "fc_bias": mx.nd.zeros(4)}
    write_toy_model(tmp_path / "toy", image, output, params)
    with pytest.raises(ReproError, match=r"toy-symbol\.json takes inputs \['image'\].*named 'data'"):
        load_exported(tmp_path / "toy", input_size=8)


def test_parameters_missing_from_the_file_are_named(tmp_path):
    data = mx.sym.var("data")
    output = mx.sym.FullyConnected(mx.sym.flatten(data), num_hidden=4, name="fc")
    write_toy_model(tmp_path / "toy", data, output, {"fc_weight": mx.nd.ones((4, 3 * 8 * 8))})
    with pytest.raises(ReproError, match=r"inputs \['data', 'fc_bias'\]"):
        load_exported(tmp_path / "toy", input_size=8)


def test_graph_with_several_outputs_is_refused(tmp_path):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(mx.sym.flatten(data), num_hidden=4, name="fc")
    params = {"fc_weight": mx.nd.ones((4, 3 * 8 * 8)), "fc_bias": mx.nd.zeros(4)}
    write_toy_model(tmp_path / "toy", data, mx.sym.Group([fc, mx.sym.relu(fc)]), params)
    with pytest.raises(ReproError, match=r"has 2 outputs.*inference mode"):
        load_exported(tmp_path / "toy", input_size=8)
    write_toy_model(tmp_path / "ok", data, fc, params)
    loaded = load_exported(tmp_path / "ok", input_size=8)
    assert loaded.classes == 4
    np.testing.assert_allclose(loaded(mx.nd.ones((1, 3, 8, 8))).asnumpy(), np.full((1, 4), 192.0))


def test_corrupt_files_are_clear_errors(exported, tmp_path):
    _, prefix, symbol_file, params_file = exported
    bad = tmp_path / "bad"
    (tmp_path / "bad-symbol.json").write_text('{"nodes": [')
    (tmp_path / "bad-0000.params").write_bytes(params_file.read_bytes())
    with pytest.raises(ReproError, match=r"bad-symbol\.json is not an MXNet symbol file"):
        load_exported(bad)
    (tmp_path / "bad-symbol.json").write_text(symbol_file.read_text())
    (tmp_path / "bad-0000.params").write_bytes(b"not params")
    with pytest.raises(ReproError, match=r"bad-0000\.params is not an MXNet \.params file"):
        load_exported(bad)


def test_json_that_is_not_a_symbol_is_a_clear_error(exported, tmp_path):
    _, _, _, params_file = exported
    (tmp_path / "odd-symbol.json").write_text('{"nodes": "none"}')
    (tmp_path / "odd-0000.params").write_bytes(params_file.read_bytes())
    with pytest.raises(ReproError, match=r"odd-symbol\.json is not an MXNet symbol file"):
        load_exported(tmp_path / "odd")


def test_save_parameters_file_is_pointed_to_load_params(exported, tmp_path):
    net, _, symbol_file, _ = exported
    (tmp_path / "gluon-symbol.json").write_text(symbol_file.read_text())
    net.save_parameters(str(tmp_path / "gluon-0000.params"))
    with pytest.raises(ReproError, match=r"gluon-0000\.params does not name its arrays.*load_params"):
        load_exported(tmp_path / "gluon")
