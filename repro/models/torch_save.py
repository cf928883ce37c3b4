"""Write numpy arrays as a PyTorch state dict (``.pth``), without torch, in either format.

The counterpart of :mod:`repro.models.torch_checkpoint`: it hands Gluon weights to torch under
torch's names (``torch.load`` reads the files; a test checks this with real torch) and lets the tests
write checkpoints of every kind torch writes. ``legacy=False`` writes the zip archive of
torch >= 1.6 (storage records 64-byte aligned, as torch aligns them); ``legacy=True`` the stream of
``_use_new_zipfile_serialization=False``. Arrays that are views of one C-contiguous numpy array
(``a.T``, ``a[1:, 2:5]``) are written as torch views — one shared storage, offset and strides — so
both layouts of torch's files can be produced. The pickle (protocol 2, as torch writes) is emitted
opcode by opcode: the names it refers to (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``)
need no torch here.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from repro.errors import ReproError
from repro.models.torch_checkpoint import LEGACY_MAGIC, LEGACY_PROTOCOL, STORAGE_DTYPES

_DTYPE_STORAGES = {np.dtype(code).newbyteorder("<") if np.dtype(code).itemsize > 1 else np.dtype(code):
                   name for name, code in STORAGE_DTYPES.items() if name != "BFloat16Storage"}
ALIGNMENT = 64  # torch aligns every storage record of a zip checkpoint to 64 bytes


@dataclass(frozen=True)
class _Global:
    module: str
    name: str


@dataclass(frozen=True)
class _Reduce:
    func: _Global
    args: tuple


@dataclass(frozen=True)
class _PersistentId:
    value: tuple


class _Emitter:
    """Protocol-2 pickle opcodes for the few kinds of object a state dict holds."""

    def __init__(self):
        self.out = io.BytesIO()

    def emit(self, obj: Any) -> None:
        w = self.out.write
        if obj is None:
            w(b"N")
        elif obj is True or obj is False:
            w(b"\x88" if obj else b"\x89")
        elif isinstance(obj, int):
            if 0 <= obj < 256:
                w(b"K" + bytes([obj]))
            elif 0 <= obj < 65536:
                w(b"M" + struct.pack("<H", obj))
            elif -2**31 <= obj < 2**31:
                w(b"J" + struct.pack("<i", obj))
            else:
                raw = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
                w(b"\x8a" + bytes([len(raw)]) + raw)
        elif isinstance(obj, float):
            w(b"G" + struct.pack(">d", obj))
        elif isinstance(obj, str):
            raw = obj.encode("utf-8")
            w(b"X" + struct.pack("<I", len(raw)) + raw)
        elif isinstance(obj, tuple):
            if not obj:
                w(b")")
                return
            w(b"(")
            for item in obj:
                self.emit(item)
            w(b"t")
        elif isinstance(obj, list):
            w(b"]")
            if obj:
                w(b"(")
                for item in obj:
                    self.emit(item)
                w(b"e")
        elif isinstance(obj, _Global):
            w(b"c" + f"{obj.module}\n{obj.name}\n".encode("ascii"))
        elif isinstance(obj, _Reduce):
            self.emit(obj.func)
            self.emit(obj.args)
            w(b"R")
        elif isinstance(obj, _PersistentId):
            self.emit(obj.value)
            w(b"Q")
        elif isinstance(obj, dict):
            if isinstance(obj, collections.OrderedDict):
                self.emit(_Reduce(_Global("collections", "OrderedDict"), ()))
            else:
                w(b"}")
            if obj:
                w(b"(")
                for key, value in obj.items():
                    self.emit(key)
                    self.emit(value)
                w(b"u")
            state = getattr(obj, "__dict__", None)
            if state:
                self.emit(dict(state))
                w(b"b")  # BUILD: sets _metadata, as torch's OrderedDict state
        else:
            raise TypeError(f"cannot write a {type(obj).__name__} into a state dict pickle")

    def pickle(self, obj: Any) -> bytes:
        self.out.write(b"\x80\x02")
        self.emit(obj)
        self.out.write(b".")
        return self.out.getvalue()


def _root(array: np.ndarray) -> np.ndarray:
    base = array
    while isinstance(base.base, np.ndarray):
        base = base.base
    return base


def _storage_layout(array: np.ndarray) -> tuple[np.ndarray, int, tuple[int, ...]] | None:
    """(root, element offset, element strides) when ``array`` is a view torch can express."""
    root = _root(array)
    if root is array or not root.flags.c_contiguous or root.dtype != array.dtype:
        return None
    item = array.itemsize
    start = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if start % item or any(s % item or s < 0 for s in array.strides):
        return None
    return root, start // item, tuple(s // item for s in array.strides)


class _Tensors:
    """Replaces every numpy array of an object tree by torch's tensor-rebuild call."""

    def __init__(self, legacy: bool):
        self.legacy = legacy
        self.storages: dict[int, tuple[str, np.ndarray]] = {}  # id(root) -> (key, root)

    def storage_of(self, root: np.ndarray) -> tuple[str, np.ndarray]:
        if id(root) not in self.storages:
            self.storages[id(root)] = (str(len(self.storages)), root)
        return self.storages[id(root)]

    def tensor(self, array: np.ndarray, where: str) -> _Reduce:
        kind = _DTYPE_STORAGES.get(array.dtype.newbyteorder("<") if array.itemsize > 1 else array.dtype)
        if kind is None:
            raise ReproError(f"{where}: dtype {array.dtype} has no torch storage")
        layout = _storage_layout(array)
        if layout is None:
            root = array if _root(array) is array and array.flags.c_contiguous else array.copy("C")
            layout = (root, 0, tuple(s // array.itemsize for s in root.strides))
        root, offset, strides = layout
        key, root = self.storage_of(root)
        pid = ("storage", _Global("torch", kind), key, "cpu", int(root.size))
        pid = _PersistentId(pid + (None,) if self.legacy else pid)  # legacy: no storage view
        hooks = _Reduce(_Global("collections", "OrderedDict"), ())
        return _Reduce(_Global("torch._utils", "_rebuild_tensor_v2"),
                       (pid, offset, tuple(array.shape), strides, False, hooks))

    def tree(self, obj: Any, where: str = "checkpoint") -> Any:
        if isinstance(obj, np.ndarray):
            return self.tensor(obj, where)
        if isinstance(obj, dict):
            out = collections.OrderedDict() if isinstance(obj, collections.OrderedDict) else {}
            for key, value in obj.items():
                out[key] = self.tree(value, f"{where}[{key!r}]")
            if getattr(obj, "__dict__", None):
                out.__dict__.update(obj.__dict__)  # e.g. _metadata
            return out
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.tree(v, f"{where}[{i}]") for i, v in enumerate(obj))
        return obj

    def roots(self) -> dict[str, np.ndarray]:
        return {key: root for key, root in self.storages.values()}


def _raw(root: np.ndarray) -> bytes:
    return np.ascontiguousarray(root).astype(root.dtype.newbyteorder("<"), copy=False).tobytes()


def _aligned(archive: zipfile.ZipFile, name: str, payload: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    header = 30 + len(name.encode())
    offset = archive.fp.tell()
    pad = -(offset + header + 4) % ALIGNMENT
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # torch's padding field ("FB")
    archive.writestr(info, payload)


def save_checkpoint(obj: Any, path: str | Path, legacy: bool = False,
                    archive_name: str | None = None) -> Path:
    """Write ``obj`` (dicts, OrderedDicts, lists, tuples, str, int, float, bool, None and numpy
    arrays, nested) as ``torch.save`` would, arrays as tensors; returns ``path``."""
    path = Path(path)
    tensors = _Tensors(legacy)
    data_pkl = _Emitter().pickle(tensors.tree(obj))
    storages = tensors.roots()
    if legacy:
        out = io.BytesIO()
        for header in (LEGACY_MAGIC, LEGACY_PROTOCOL,
                       {"protocol_version": LEGACY_PROTOCOL, "little_endian": True,
                        "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            out.write(pickle.dumps(header, protocol=2))
        out.write(data_pkl)
        out.write(_Emitter().pickle(list(storages)))
        for root in storages.values():
            out.write(struct.pack("<q", root.size) + _raw(root))
        path.write_bytes(out.getvalue())
        return path
    prefix = archive_name or path.stem
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        _aligned(archive, f"{prefix}/data.pkl", data_pkl)
        _aligned(archive, f"{prefix}/byteorder", b"little")
        for key, root in storages.items():
            _aligned(archive, f"{prefix}/data/{key}", _raw(root))
        _aligned(archive, f"{prefix}/version", b"3\n")
    return path


def save_state_dict(arrays: Mapping[str, np.ndarray], path: str | Path, legacy: bool = False,
                    metadata: Mapping[str, dict] | None = None) -> Path:
    """Write ``arrays`` as a torch state dict (an OrderedDict; ``metadata`` becomes its
    ``_metadata``, as ``Module.state_dict()`` sets it)."""
    state = collections.OrderedDict(arrays)
    if metadata is not None:
        state._metadata = collections.OrderedDict(metadata)
    return save_checkpoint(state, path, legacy)
