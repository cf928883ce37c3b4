"""PyTorch checkpoints read without torch: both formats, views, dtypes, refusals, damaged files.

Checkpoints are written by :mod:`repro.models.torch_save` (which real torch reads: see
tests/integration/test_torch_files.py) and by hand-made pickles for the hostile cases.
"""
from __future__ import annotations

import collections
import os
import pickle
import zipfile

import numpy as np
import pytest

from repro.errors import ReproError
from repro.models import torch_save
from repro.models.torch_checkpoint import load_checkpoint, load_state_dict
from repro.models.torch_save import save_checkpoint, save_state_dict

FORMATS = pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])


def sample_state() -> collections.OrderedDict:
    base = np.arange(24, dtype=np.float32).reshape(4, 6) - 7.5
    return collections.OrderedDict([
        ("conv.weight", base), ("conv.weight_t", base.T), ("slice", base[1:, 2:5]),
        ("strided", base[::2, ::3]), ("half", (base / 3).astype(np.float16)),
        ("double", np.linspace(-1, 1, 5)), ("bn.num_batches_tracked", np.array(12, np.int64)),
        ("int32", np.array([[-3, 2**31 - 1]], np.int32)), ("uint8", np.arange(250, 256, dtype=np.uint8)),
        ("int8", np.array([-128, 127], np.int8)), ("mask", np.array([True, False, True])),
        ("empty", np.zeros((0, 3), np.float32)),
    ])


@FORMATS
def test_every_tensor_round_trips_with_dtype_shape_and_values(tmp_path, legacy):
    state = sample_state()
    path = save_state_dict(state, tmp_path / "sd.pth", legacy=legacy,
                           metadata={"": {"version": 1}, "bn": {"version": 2}})
    loaded = load_checkpoint(path)
    assert list(loaded) == list(state)
    for name, want in state.items():
        got = loaded[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert got.flags.c_contiguous and got.flags.writeable
    assert loaded._metadata == {"": {"version": 1}, "bn": {"version": 2}}
    assert isinstance(load_state_dict(path), dict)


@FORMATS
def test_views_share_one_storage_in_the_file(tmp_path, legacy):
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = save_state_dict({"a": base, "t": base.T, "s": base[1:, 1:3]}, tmp_path / "v.pth",
                           legacy=legacy)
    # one storage of 12 floats, not three: the reader must honour offset and strides
    assert path.stat().st_size < save_state_dict(
        {"a": base, "t": base.T.copy(), "s": base[1:, 1:3].copy()}, tmp_path / "c.pth",
        legacy=legacy).stat().st_size
    loaded = load_state_dict(path)
    np.testing.assert_array_equal(loaded["t"], base.T)
    np.testing.assert_array_equal(loaded["s"], [[5, 6], [9, 10]])


@FORMATS
def test_nested_checkpoint_and_state_dict_refusal(tmp_path, legacy):
    inner = collections.OrderedDict(w=np.ones((2, 2), np.float32))
    inner._metadata = collections.OrderedDict({"": {"version": 1}})
    path = save_checkpoint({"model": inner, "epoch": 3, "history": [0.5, None, "x", (1, 2)]},
                           tmp_path / "ckpt.pth", legacy=legacy)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and loaded["history"] == [0.5, None, "x", (1, 2)]
    assert loaded["model"]._metadata == {"": {"version": 1}}
    with pytest.raises(ReproError, match=r"ckpt\.pth: entry 'model' is a OrderedDict, not a tensor"):
        load_state_dict(path)


# ---- hostile pickles: refused before anything runs -----------------------------------------------

class _Shell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('true')",))


def _zip_with(payload: bytes, path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    return path


def _legacy_with(payload: bytes, path):
    head = b"".join(pickle.dumps(v, protocol=2) for v in (
        0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}))
    path.write_bytes(head + payload + pickle.dumps([], protocol=2))
    return path


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("wrap", [_zip_with, _legacy_with], ids=["zip", "legacy"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, wrap, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weight": _Shell(f"touch {marker}")}, protocol=protocol)
    path = wrap(payload, tmp_path / "evil.pth")
    module = os.system.__module__  # 'posix' on Linux: what the pickle names
    with pytest.raises(ReproError, match=rf"evil\.pth asks to load {module}\.system: refused"):
        load_checkpoint(path)
    assert not marker.exists()
    with pytest.raises(ReproError, match=r"(builtins|__builtin__)\.eval: refused"):
        load_checkpoint(wrap(pickle.dumps([_Eval()], protocol=protocol), tmp_path / "eval.pth"))


def test_whole_pickled_model_is_refused_with_a_hint(tmp_path):
    emitter = torch_save._Emitter()
    fake = torch_save._Reduce(torch_save._Global("torch.nn.modules.conv", "Conv2d"), ())
    path = _zip_with(emitter.pickle(fake), tmp_path / "model.pth")
    with pytest.raises(ReproError, match=r"torch\.nn\.modules\.conv\.Conv2d: refused.*state_dict"):
        load_checkpoint(path)


def test_tensor_reaching_past_its_storage_is_refused(tmp_path):
    def tensor(size, stride, offset):
        pid = torch_save._PersistentId(("storage", torch_save._Global("torch", "FloatStorage"),
                                        "0", "cpu", 6))
        return torch_save._Reduce(torch_save._Global("torch._utils", "_rebuild_tensor_v2"),
                                  (pid, offset, size, stride, False,
                                   torch_save._Reduce(torch_save._Global("collections",
                                                                         "OrderedDict"), ())))

    def write(obj, name):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a/data.pkl", torch_save._Emitter().pickle(obj))
            archive.writestr("a/data/0", np.arange(6, dtype="<f4").tobytes())
        return path

    ok = load_checkpoint(write({"x": tensor((2, 3), (1, 2), 0)}, "ok.pth"))
    np.testing.assert_array_equal(ok["x"], np.arange(6, dtype=np.float32).reshape(3, 2).T)
    with pytest.raises(ReproError, match=r"over\.pth: .*reaches element 6, past the storage's 6"):
        load_checkpoint(write({"x": tensor((2, 3), (3, 1), 1)}, "over.pth"))
    with pytest.raises(ReproError, match=r"neg\.pth: .*not a valid layout"):
        load_checkpoint(write({"x": tensor((2,), (-1,), 5)}, "neg.pth"))


# ---- damaged and foreign files: one line naming the file -------------------------------------------

def assert_one_line_error(path, pattern=""):
    with pytest.raises(ReproError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    assert pattern in message, message


@FORMATS
def test_truncated_files_are_one_line_errors(tmp_path, legacy):
    whole = save_state_dict(sample_state(), tmp_path / "whole.pth", legacy=legacy).read_bytes()
    for cut in sorted({1, 2, 5, 40, len(whole) // 3, len(whole) // 2, len(whole) - 9,
                       len(whole) - 1}):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(whole[:cut])
        assert_one_line_error(path)


def test_foreign_files_are_one_line_errors(tmp_path):
    cases = {"empty.pth": b"", "text.pth": b"just some text\n",
             "photo.pth": b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,
             "pickle.pth": pickle.dumps({"a": 1}, protocol=2)}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert_one_line_error(tmp_path / name)
    assert_one_line_error(tmp_path / "pickle.pth", "no torch magic number")
    other_zip = tmp_path / "other.pth"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert_one_line_error(other_zip, "without ARCHIVE/data.pkl")
    script = tmp_path / "script.pt"
    with zipfile.ZipFile(script, "w") as archive:
        archive.writestr("m/constants.pkl", pickle.dumps(()))
        archive.writestr("m/code/__torch__.py", "")
    assert_one_line_error(script, "TorchScript")
    with pytest.raises(ReproError, match=r"missing\.pth does not exist"):
        load_checkpoint(tmp_path / "missing.pth")


def test_zip_record_of_the_wrong_size_is_refused(tmp_path):
    path = save_state_dict({"w": np.ones(4, np.float32)}, tmp_path / "sd.pth")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    damaged = tmp_path / "short.pth"
    with zipfile.ZipFile(damaged, "w") as archive:
        for name, data in members.items():
            archive.writestr(name.replace("sd/", "short/"), data[:-4] if "/data/" in name else data)
    assert_one_line_error(damaged, "holds 12 bytes, its storage needs 16")


def test_writer_refuses_dtypes_torch_has_no_storage_for(tmp_path):
    with pytest.raises(ReproError, match=r"\['c'\]: dtype complex64 has no torch storage"):
        save_state_dict({"c": np.zeros(2, np.complex64)}, tmp_path / "c.pth")
