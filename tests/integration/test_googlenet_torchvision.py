"""googlenet-torchvision: torchvision's state dict mapped onto GluonCV's graph, checked numerically.

Torch-free: the Gluon net's own random parameters go out under torchvision's names (both file
formats) and come back through ``googlenet-torchvision:FILE.pth``. With ``REPRO_TORCH_PYTHON`` (a
python with torch and torchvision): torchvision's own GoogLeNet, random weights and BatchNorm
statistics, gives the logits the Gluon net must reproduce on the same input.
"""
from __future__ import annotations

import os
import subprocess
import textwrap

import mxnet as mx
import numpy as np
import pytest

from repro.errors import ReproError
from repro.models.classifier import Classifier, prepare_for_inference
from repro.models.googlenet_torchvision import WEIGHTS_FILE, torch_hub_dir, torchvision_name, torchvision_weights
from repro.models.refs import load_model, parse_ref
from repro.models.specs import MODELS
from repro.models.state_dict_import import export_state_dict, import_state_dict
from repro.models.torch_save import save_state_dict
from repro.models.weights import initialize_random

TORCH_PYTHON = os.environ.get("REPRO_TORCH_PYTHON")
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def random_net(seed: int, aux: bool = False):
    net = MODELS.get("googlenet-torchvision").create(aux=aux)
    initialize_random(net, seed=seed, input_size=224)
    rng = np.random.RandomState(seed)
    for name, param in net._collect_params_with_prefix().items():  # BatchNorm must not be identity
        if name.endswith(("running_mean", "beta")):
            param.set_data(mx.nd.array(rng.normal(0, 0.2, param.shape)))
        elif name.endswith(("running_var", "gamma")):
            param.set_data(mx.nd.array(rng.uniform(0.5, 1.5, param.shape)))
    return net


def images(seed: int = 0, n: int = 2) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, (n, 224, 224, 3)).astype(np.uint8)


def torchvision_input(batch: np.ndarray) -> np.ndarray:
    """torchvision's eval transform after the crop: ToTensor then Normalize (NCHW float32)."""
    x = batch.astype(np.float32) / 255
    return ((x - IMAGENET_MEAN) / IMAGENET_STD).transpose(0, 3, 1, 2).copy()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_own_parameters_round_trip_through_torchvision_names(tmp_path, legacy):
    source = random_net(seed=1, aux=True)
    state = export_state_dict(source, torchvision_name)
    assert "inception4e.branch3.1.conv.weight" in state and "aux2.fc2.bias" in state
    assert "fc.weight" in state and not any(k.startswith(("head.", "output.")) for k in state)
    path = save_state_dict(state, tmp_path / "tv.pth", legacy=legacy)
    model = load_model(parse_ref(f"googlenet-torchvision:{path}"))
    expected = {k: p.data().asnumpy() for k, p in source._collect_params_with_prefix().items()
                if not k.startswith("aux")}
    got = {k: p.data().asnumpy() for k, p in model.net._collect_params_with_prefix().items()}
    assert set(got) == set(expected)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    x = mx.nd.array(torchvision_input(images()))
    np.testing.assert_array_equal(model.net(x).asnumpy(), source(x)[0].asnumpy())  # (main, aux2, aux1)


def test_mapping_is_checked_before_anything_is_written(tmp_path):
    net = random_net(seed=2)
    state = export_state_dict(net, torchvision_name)
    target = random_net(seed=3)
    before = target.conv1[0].weight.data().asnumpy()
    broken = dict(state)
    broken["inception3a.branch2.1.conv.weight"] = broken["inception3a.branch2.1.conv.weight"][:, :5]
    with pytest.raises(ReproError, match=r"x\.pth: entry 'inception3a\.branch2\.1\.conv\.weight' "
                                         r"has shape \(128, 5, 3, 3\), the network expects "
                                         r"\(128, 96, 3, 3\)"):
        import_state_dict(target, broken, torchvision_name, "x.pth")
    missing = {k: v for k, v in state.items() if k != "conv3.bn.running_var"}
    with pytest.raises(ReproError, match=r"no entry 'conv3\.bn\.running_var'"):
        import_state_dict(target, missing, torchvision_name, "x.pth")
    extra = dict(state, **{"inception6a.branch1.conv.weight": np.zeros(3, np.float32)})
    with pytest.raises(ReproError, match=r"1 entries this network does not have, first "
                                         r"'inception6a"):
        import_state_dict(target, extra, torchvision_name, "x.pth")
    np.testing.assert_array_equal(target.conv1[0].weight.data().asnumpy(), before)


def test_transform_input_is_torchvisions_renormalisation():
    # ImageNet-normalised input re-normalised to (x - 0.5) / 0.5: the net's first step
    net = MODELS.get("googlenet-torchvision").create()
    x = torchvision_input(images(n=1))
    initialize_random(net, seed=0, input_size=224)
    plain = MODELS.get("googlenet-gluoncv").create()
    initialize_random(plain, seed=0, input_size=224)
    for name, param in plain._collect_params_with_prefix().items():
        param.set_data(net._collect_params_with_prefix()[name].data())
    renormalised = (images(n=1).astype(np.float32) / 255 - 0.5) / 0.5
    want = plain(mx.nd.array(renormalised.transpose(0, 3, 1, 2))).asnumpy()
    np.testing.assert_allclose(net(mx.nd.array(x)).asnumpy(), want, rtol=1e-4, atol=1e-5)


def test_pretrained_weights_are_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert torch_hub_dir() == tmp_path / "th" / "hub" / "checkpoints"
    with pytest.raises(ReproError, match=rf"put {WEIGHTS_FILE} .* in {tmp_path}/th/hub/checkpoints"):
        load_model(parse_ref("googlenet-torchvision:pretrained"))
    (tmp_path / "th" / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "th" / "hub" / "checkpoints" / WEIGHTS_FILE).write_bytes(b"not the weights")
    with pytest.raises(ReproError, match=r"expected 1378be20\.\.\.: the file is corrupt"):
        torchvision_weights()
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert torch_hub_dir() == tmp_path / "xdg" / "torch" / "hub" / "checkpoints"


def test_pth_files_need_a_spec_with_a_mapping(tmp_path):
    path = save_state_dict({"w": np.zeros(1, np.float32)}, tmp_path / "w.pth")
    with pytest.raises(ReproError, match=r"googlenet-paper has no PyTorch state-dict mapping.*"
                                         r"googlenet-torchvision"):
        load_model(parse_ref(f"googlenet-paper:{path}"))


# ---- against torchvision itself ------------------------------------------------------------------

TORCHVISION = textwrap.dedent("""
    import json, sys, numpy as np, torch, torchvision
    out = sys.argv[1]
    torch.manual_seed(0)
    net = torchvision.models.googlenet(weights=None, aux_logits=True, transform_input=True,
                                       init_weights=True)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):   # keep activations O(1)
                torch.nn.init.kaiming_normal_(m.weight)
                if m.bias is not None: torch.nn.init.normal_(m.bias, 0, 0.1)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5); m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2); m.running_var.uniform_(0.5, 1.5)
    net.eval()
    torch.save(net.state_dict(), out + "/tv.pth")
    x = torch.from_numpy(np.load(out + "/input.npy"))
    with torch.no_grad():
        np.save(out + "/logits.npy", net(x).numpy())
    json.dump(list(net.state_dict()), open(out + "/keys.json", "w"))
""")


@pytest.mark.skipif(not TORCH_PYTHON, reason="REPRO_TORCH_PYTHON is not set (a python with torch "
                                             "and torchvision, in its own venv)")
def test_logits_equal_torchvisions_googlenet(tmp_path):
    import json

    batch = images(seed=5, n=3)
    np.save(tmp_path / "input.npy", torchvision_input(batch))
    done = subprocess.run([TORCH_PYTHON, "-c", TORCHVISION, str(tmp_path)], capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    want = np.load(tmp_path / "logits.npy")
    model = load_model(parse_ref(f"googlenet-torchvision:{tmp_path / 'tv.pth'}"))
    torch_keys = set(json.loads((tmp_path / "keys.json").read_text()))
    mapped = set(export_state_dict(random_net(seed=0, aux=True), torchvision_name))
    assert mapped == {k for k in torch_keys if not k.endswith("num_batches_tracked")}
    logits = model.net(mx.nd.array(np.load(tmp_path / "input.npy"))).asnumpy()
    scale = np.abs(want).max()
    print(f"torchvision vs Gluon: max |logit diff| {np.abs(logits - want).max():.3g}, "
          f"max |logit| {scale:.3g}")
    assert scale > 1  # the random weights give non-trivial logits
    # measured (torch 2.14.1, torchvision 0.29.1): max |diff| 2.8e-5 on logits up to 47, float32
    # rounding of two libraries; a mapping or transform_input error moves logits by O(1)
    assert np.abs(logits - want).max() <= 2e-6 * scale + 1e-5
    assert (logits.argmax(1) == want.argmax(1)).all()
    # and through the harness's classifier: uint8 crops in, ImageNet mean/std inside the graph
    probs = prepare_for_inference(Classifier(model.net, model.spec))(
        mx.nd.array(batch, dtype="uint8")).asnumpy()
    want_probs = np.exp(want - want.max(1, keepdims=True))
    want_probs /= want_probs.sum(1, keepdims=True)
    np.testing.assert_allclose(probs, want_probs, atol=1e-4)
