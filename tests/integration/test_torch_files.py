"""Cross-check with real torch: files torch writes are read right, files we write torch reads right.

Needs a Python with torch, named by ``REPRO_TORCH_PYTHON`` (torch must never be installed beside
this project's stack: gluoncv 0.10.5 refuses to import next to torch >= 2); skipped otherwise.
"""
from __future__ import annotations

import collections
import json
import os
import subprocess
import textwrap

import numpy as np
import pytest

from repro.models.torch_checkpoint import load_checkpoint, load_state_dict
from repro.models.torch_save import save_checkpoint, save_state_dict

TORCH_PYTHON = os.environ.get("REPRO_TORCH_PYTHON")
pytestmark = pytest.mark.skipif(
    not TORCH_PYTHON, reason="REPRO_TORCH_PYTHON is not set (a python with torch, in its own venv, "
                             "e.g. python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install "
                             "torch==2.13.0)")

WRITE_WITH_TORCH = textwrap.dedent("""
    import collections, json, sys, torch
    out = sys.argv[1]
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)))
    net[1].running_mean.uniform_(-1, 1); net[1].num_batches_tracked += 5
    state = net.state_dict()               # an OrderedDict with _metadata, as every state dict
    base = torch.randn(5, 6)
    state["t.transposed"] = base.t()       # non-contiguous
    state["t.slice"] = base[1:4, 2:5]      # offset into a shared storage
    state["t.shared"] = base               # the storage the two views share
    state["t.half"] = torch.randn(3, 2).half()
    state["t.bf16"] = torch.randn(4).bfloat16()
    state["t.long"] = torch.arange(-3, 3, dtype=torch.int64)
    state["t.bool"] = torch.tensor([True, False])
    state["t.param"] = torch.nn.Parameter(torch.ones(2, 2))
    expected = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                    "values": v.detach().float().flatten().tolist()} for k, v in state.items()}
    meta = {k: dict(v) for k, v in state._metadata.items()}
    torch.save(state, out + "/zip.pth")
    torch.save(state, out + "/legacy.pth", _use_new_zipfile_serialization=False)
    torch.save({"model": state, "epoch": 7, "best": 0.25}, out + "/nested.pth",
               _use_new_zipfile_serialization=False)
    json.dump({"expected": expected, "metadata": meta}, open(out + "/expected.json", "w"))
""")

READ_WITH_TORCH = textwrap.dedent("""
    import json, sys, torch
    report = {}
    for name in sys.argv[2:]:
        obj = torch.load(sys.argv[1] + "/" + name, weights_only=True)
        state = obj["model"] if "model" in obj else obj
        report[name] = {
            "tensors": {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                            "stride": list(v.stride()), "offset": v.storage_offset(),
                            "storage": v.untyped_storage().data_ptr(),
                            "values": v.float().flatten().tolist()} for k, v in state.items()},
            "metadata": {k: dict(v) for k, v in getattr(state, "_metadata", {}).items()},
            "epoch": obj.get("epoch")}
    print(json.dumps(report))
""")


def run_torch(script: str, *args: str) -> str:
    done = subprocess.run([TORCH_PYTHON, "-c", script, *map(str, args)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


NUMPY_DTYPE = {"float32": np.float32, "float16": np.float16, "bfloat16": np.float32,
               "int64": np.int64, "bool": np.bool_}


@pytest.fixture(scope="module")
def torch_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("torch-written")
    run_torch(WRITE_WITH_TORCH, out)
    return out, json.loads((out / "expected.json").read_text())


@pytest.mark.parametrize("name", ["zip.pth", "legacy.pth"])
def test_files_written_by_torch_are_read_exactly(torch_files, name):
    out, truth = torch_files
    loaded = load_checkpoint(out / name)
    assert list(loaded) == list(truth["expected"])
    for key, want in truth["expected"].items():
        got = loaded[key]
        assert got.dtype == NUMPY_DTYPE[want["dtype"]], key
        assert list(got.shape) == want["shape"], key
        np.testing.assert_array_equal(got.astype(np.float32).ravel(),
                                      np.asarray(want["values"], np.float32), err_msg=key)
    assert {k: dict(v) for k, v in loaded._metadata.items()} == truth["metadata"]
    assert loaded["1.num_batches_tracked"] == 5


def test_nested_legacy_checkpoint_written_by_torch(torch_files):
    out, truth = torch_files
    loaded = load_checkpoint(out / "nested.pth")
    assert loaded["epoch"] == 7 and loaded["best"] == 0.25
    np.testing.assert_array_equal(loaded["model"]["t.transposed"].ravel(),
                                  np.asarray(truth["expected"]["t.transposed"]["values"], np.float32))
    assert load_state_dict(out / "zip.pth")["t.slice"].shape == (3, 3)


def test_files_we_write_are_read_by_torch(tmp_path):
    base = np.arange(30, dtype=np.float32).reshape(5, 6) / 7
    state = collections.OrderedDict([
        ("w", base), ("w.T", base.T), ("w.slice", base[1:4, 2:5]),
        ("h", base.astype(np.float16)), ("n", np.array(9, np.int64)), ("m", np.array([True, False]))])
    save_state_dict(state, tmp_path / "ours-zip.pth", metadata={"": {"version": 1}})
    save_state_dict(state, tmp_path / "ours-legacy.pth", legacy=True, metadata={"": {"version": 1}})
    save_checkpoint({"model": state, "epoch": 4}, tmp_path / "ours-nested.pth")
    report = json.loads(run_torch(READ_WITH_TORCH, tmp_path, "ours-zip.pth", "ours-legacy.pth",
                                  "ours-nested.pth"))
    for name, seen in report.items():
        tensors = seen["tensors"]
        for key, array in state.items():
            assert tensors[key]["shape"] == list(array.shape), (name, key)
            np.testing.assert_array_equal(np.asarray(tensors[key]["values"], np.float32),
                                          array.astype(np.float32).ravel(), err_msg=f"{name} {key}")
        # the views are torch views of one storage, with numpy's strides and offset
        assert tensors["w.T"]["stride"] == [1, 6] and tensors["w.slice"]["offset"] == 8
        assert tensors["w.T"]["storage"] == tensors["w"]["storage"] == tensors["w.slice"]["storage"]
        assert tensors["h"]["dtype"] == "float16" and tensors["n"]["dtype"] == "int64"
    assert report["ours-zip.pth"]["metadata"] == {"": {"version": 1}}
    assert report["ours-nested.pth"]["epoch"] == 4
