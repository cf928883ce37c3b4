"""Read PyTorch checkpoints (``.pth``/``.pt``) into numpy arrays, without torch.

Both formats ``torch.save`` writes are read: the zip archive of torch >= 1.6 (``ARCHIVE/data.pkl``
plus one raw record per storage under ``ARCHIVE/data/``) and the legacy stream written with
``_use_new_zipfile_serialization=False`` (magic number, protocol, system info, the pickle, the list
of storage keys, then each storage as an int64 element count followed by its bytes). Every tensor
becomes a C-contiguous numpy array of its dtype, rebuilt from its storage with the saved offset and
strides, so views (a transpose, a slice, tensors sharing one storage) come out as torch shows them.
bfloat16 tensors become float32 (numpy has no bfloat16; the conversion is exact).

**Security.** A ``.pth`` file is a pickle: loading an untrusted one with plain ``pickle`` (or
``torch.load(weights_only=False)``) runs arbitrary code — a pickle may call any importable function,
``os.system`` included. This reader never imports what a file names: its unpickler resolves only the
globals torch emits to rebuild tensors and containers (:data:`ALLOWED_GLOBALS`) to local stand-ins,
and refuses any other with a :class:`ReproError` naming ``module.attr`` and the file, before
anything is called.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from repro.errors import ReproError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

#: storage class -> numpy dtype (little-endian; bfloat16 is read as its raw uint16 bits)
STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2", "BFloat16Storage": "<u2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}


@dataclass(frozen=True, slots=True)
class StorageType:
    """A ``torch.XStorage`` class named in a pickle: only its dtype matters here."""

    name: str

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(STORAGE_DTYPES[self.name])


@dataclass(slots=True)
class _Storage:
    kind: StorageType
    key: str
    numel: int
    data: np.ndarray | None = None  # 1-D, set once the file's bytes for this storage are read


@dataclass(frozen=True, slots=True)
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _TypeMarker:
    name: str  # "torch.Tensor" or "torch.nn.parameter.Parameter"


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None) -> _TensorRef:
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride) -> _TensorRef:
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError(f"a tensor is rebuilt from {type(storage).__name__}, not a "
                                     f"storage")
    if not all(isinstance(v, int) for v in (storage_offset, *size, *stride)):
        raise pickle.UnpicklingError("a tensor's offset, size or stride is not made of integers")
    return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data  # a Parameter's values are its tensor's; requires_grad is training state


def _rebuild_from_type_v2(func, new_type, args, state):
    if not isinstance(new_type, _TypeMarker) or func not in (_rebuild_tensor_v2, _rebuild_parameter):
        raise pickle.UnpicklingError("a tensor subclass is rebuilt with an unexpected function")
    return func(*args)


#: the only globals a checkpoint may name, each mapped to a harmless local stand-in
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch", "Tensor"): _TypeMarker("torch.Tensor"),
    ("torch.nn.parameter", "Parameter"): _TypeMarker("torch.nn.parameter.Parameter"),
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves :data:`ALLOWED_GLOBALS` only; storages come from ``storage_for``."""

    def __init__(self, stream, path: Path, storage_for: Callable[[tuple], _Storage]):
        super().__init__(stream)
        self.path, self.storage_for = path, storage_for

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            hint = (" (a whole pickled model? save model.state_dict() instead)"
                    if module.startswith("torch.nn.modules") else "")
            raise ReproError(f"{self.path} asks to load {module}.{name}: refused, a checkpoint may "
                             f"only rebuild tensors and dicts (loading an untrusted .pth with plain "
                             f"pickle would run it){hint}") from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
            kind = pid[0] if isinstance(pid, tuple) and pid else type(pid).__name__
            raise ReproError(f"{self.path} references a persistent {kind!r} object; only tensor "
                             f"storages are supported (a whole pickled model? save "
                             f"model.state_dict() instead)")
        return self.storage_for(pid)


@dataclass
class _Storages:
    """The storages a pickle references, by key, each created on first reference."""

    path: Path
    legacy: bool
    by_key: dict[str, _Storage] = field(default_factory=dict)
    views: list[tuple[_Storage, _Storage, int]] = field(default_factory=list)  # legacy views

    def __call__(self, pid: tuple) -> _Storage:
        fields = pid[1:]
        if len(fields) not in (4, 5) or not isinstance(fields[0], StorageType):
            raise pickle.UnpicklingError(f"malformed storage reference {pid[:3]!r}")
        kind, key, _location, numel = fields[:4]
        key = key.decode() if isinstance(key, bytes) else str(key)
        if not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"storage {key} has size {numel!r}")
        storage = self.by_key.get(key)
        if storage is None:
            storage = self.by_key[key] = _Storage(kind, key, numel)
        elif storage.kind != kind or storage.numel != numel:
            raise pickle.UnpicklingError(f"storage {key} is referenced with two types or sizes")
        view = fields[4] if len(fields) == 5 else None
        if view is None:
            return storage
        view_key, offset, view_numel = view  # legacy: a slice of a root storage
        if not (0 <= offset and 0 <= view_numel and offset + view_numel <= numel):
            raise pickle.UnpicklingError(f"storage view {view_key} lies outside storage {key}")
        sub = _Storage(kind, str(view_key), view_numel)
        self.views.append((sub, storage, offset))
        return sub


def _to_array(ref: _TensorRef, path: Path) -> np.ndarray:
    storage = ref.storage
    data = storage.data
    if data is None:
        raise ReproError(f"{path}: storage {storage.key} is referenced but its data is not in "
                         f"the file (truncated or damaged checkpoint)")
    size, stride, offset = ref.size, ref.stride, ref.offset
    if len(size) != len(stride) or offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise ReproError(f"{path}: a tensor of storage {storage.key} has size {size}, stride "
                         f"{stride}, offset {offset}: not a valid layout")
    if 0 in size:
        array = np.empty(size, dtype=data.dtype)
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= data.size:
            raise ReproError(f"{path}: a tensor of storage {storage.key} (size {size}, stride "
                             f"{stride}, offset {offset}) reaches element {last}, past the "
                             f"storage's {data.size}")
        view = np.lib.stride_tricks.as_strided(
            data[offset:], shape=size, strides=tuple(s * data.itemsize for s in stride),
            writeable=False)
        array = np.array(view, dtype=data.dtype.newbyteorder("="), order="C")
    if storage.kind.name == "BFloat16Storage":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def _materialize(obj: Any, path: Path, seen: dict[int, Any]) -> Any:
    """``obj`` with every tensor reference replaced by its numpy array (shared refs stay shared)."""
    if id(obj) in seen:
        return seen[id(obj)]
    if isinstance(obj, _TensorRef):
        out = _to_array(obj, path)
    elif isinstance(obj, dict):
        out = type(obj)()
        seen[id(obj)] = out
        for key, value in obj.items():
            out[key] = _materialize(value, path, seen)
        for name, value in vars(obj).items() if hasattr(obj, "__dict__") else ():
            setattr(out, name, _materialize(value, path, seen))  # e.g. a state dict's _metadata
        return out
    elif isinstance(obj, list):
        out = []
        seen[id(obj)] = out
        out.extend(_materialize(value, path, seen) for value in obj)
        return out
    elif isinstance(obj, tuple):
        out = tuple(_materialize(value, path, seen) for value in obj)
    elif isinstance(obj, (_Storage, StorageType, _TypeMarker)) or callable(obj):
        raise ReproError(f"{path} holds a bare {type(obj).__name__.lstrip('_')} outside any "
                         f"tensor: not a checkpoint of tensors")
    else:
        out = obj
    seen[id(obj)] = out
    return out


def _storage_array(raw: bytes, storage: _Storage, byteorder: str) -> np.ndarray:
    dtype = storage.kind.dtype
    if byteorder == "big":
        dtype = dtype.newbyteorder(">")
    return np.frombuffer(raw, dtype=dtype, count=storage.numel)


def _load_zip(path: Path, data: bytes) -> Any:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles:
            kind = ("a TorchScript archive (torch.jit.save), not a checkpoint: save "
                    "model.state_dict() with torch.save" if any(n.endswith("/constants.pkl")
                                                                for n in names)
                    else "a zip archive without ARCHIVE/data.pkl, not a PyTorch checkpoint")
            raise ReproError(f"{path} is {kind}")
        prefix = pickles[0][:-len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise ReproError(f"{path}: byteorder record says {byteorder!r}")
        storages = _Storages(path, legacy=False)
        result = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), path, storages).load()
        for storage in storages.by_key.values():
            record = f"{prefix}data/{storage.key}"
            if record not in names:
                raise ReproError(f"{path} has no record {record} for a storage its pickle uses "
                                 f"(truncated or damaged checkpoint)")
            raw = archive.read(record)
            expected = storage.numel * storage.kind.dtype.itemsize
            if len(raw) != expected:
                raise ReproError(f"{path}: record {record} holds {len(raw)} bytes, its storage "
                                 f"needs {expected}")
            storage.data = _storage_array(raw, storage, byteorder)
    return result


def _load_legacy(path: Path, data: bytes) -> Any:
    stream = io.BytesIO(data)
    storages = _Storages(path, legacy=True)

    def header() -> Any:  # the legacy stream is a sequence of pickles
        return _RestrictedUnpickler(stream, path, storages).load()

    if header() != LEGACY_MAGIC:
        raise ReproError(f"{path} is a pickle but not a PyTorch checkpoint (no torch magic number)")
    protocol = header()
    if protocol != LEGACY_PROTOCOL:
        raise ReproError(f"{path}: legacy checkpoint protocol {protocol!r}, expected "
                         f"{LEGACY_PROTOCOL}")
    sys_info = header()
    byteorder = "little" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) \
        else "big"
    result = header()
    keys = header()
    if not isinstance(keys, list):
        raise ReproError(f"{path}: the storage key list is a {type(keys).__name__}")
    for key in keys:
        key = key.decode() if isinstance(key, bytes) else str(key)
        storage = storages.by_key.get(key)
        if storage is None:
            raise ReproError(f"{path}: storage {key} has data but no tensor uses it")
        count_bytes = stream.read(8)
        if len(count_bytes) != 8:
            raise ReproError(f"{path} ends before the data of storage {key} (truncated)")
        count = struct.unpack("<q" if byteorder == "little" else ">q", count_bytes)[0]
        if count != storage.numel:
            raise ReproError(f"{path}: storage {key} holds {count} elements, its tensors say "
                             f"{storage.numel}")
        raw = stream.read(count * storage.kind.dtype.itemsize)
        if len(raw) != count * storage.kind.dtype.itemsize:
            raise ReproError(f"{path} ends inside the data of storage {key} (truncated)")
        storage.data = _storage_array(raw, storage, byteorder)
    for view, root, offset in storages.views:
        if root.data is not None:
            view.data = root.data[offset:offset + view.numel]
    return result


def load_checkpoint(path: str | Path) -> Any:
    """The object a ``.pth`` file holds, every tensor as a numpy array (see the module docstring).

    Any unreadable, truncated or foreign file is a one-line :class:`ReproError` naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise ReproError(f"PyTorch checkpoint {path} does not exist")
    data = path.read_bytes()
    try:
        if data[:4] == b"PK\x03\x04":
            result = _load_zip(path, data)
        elif data[:1] == b"\x80":
            result = _load_legacy(path, data)
        elif len(data) > 262 and data[257:262] == b"ustar":
            raise ReproError(f"{path} is a tar checkpoint of torch < 0.4: not supported; re-save "
                             f"it with a current torch")
        else:
            raise ReproError(f"{path} is not a PyTorch checkpoint (neither a zip archive nor a "
                             f"pickle stream)")
        return _materialize(result, path, {})
    except ReproError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, struct.error, zipfile.BadZipFile, zlib.error, UnicodeDecodeError,
            OverflowError, MemoryError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReproError(f"{path} is not a readable PyTorch checkpoint ({type(exc).__name__}: "
                         f"{reason}); truncated or damaged?") from None


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """A ``.pth`` state dict as ``{name: array}`` (insertion order kept; ``_metadata`` dropped)."""
    obj = load_checkpoint(path)
    if not isinstance(obj, dict):
        raise ReproError(f"{path} holds a {type(obj).__name__}, not a state dict")
    for key, value in obj.items():
        if not isinstance(value, np.ndarray):
            raise ReproError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor: not "
                             f"a plain state dict (keys: {', '.join(map(repr, list(obj)[:6]))})")
    return {str(key): value for key, value in obj.items()}
