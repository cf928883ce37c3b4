"""Read one array of a store chunk (an uncompressed ``.npz``) straight into a caller's array.

``np.load(...)[name]`` reads only the member asked for too, but through ``zipfile`` in 256 KiB
pieces copied into a new array, which the caller then copies again into its own, and parses the
zip directory and the ``.npy`` header (with ``ast.literal_eval``) on every call. A chunk is written
by ``np.savez`` (stored, not deflated), so a member's bytes lie contiguously in the file: here they
are read with one ``readinto`` into the destination. A chunk's zip directory is parsed once per
process (chunk files are replaced only by atomic renames, so a file's inode, size and mtime identify
its content) and a ``.npy`` header's text once per distinct header (a store's chunks share theirs).
Every read still checks the member's local zip header, that its ``.npy`` header gives the expected
dtype and shape, and its CRC-32, as ``zipfile`` would. A damaged or unexpected file is a
:class:`ReproError` naming it.
"""
from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from repro.errors import ReproError

# signature, (version, flags), method, (time, date, CRC-32, sizes), name length, extra length
_LOCAL_HEADER = struct.Struct("<4s4xH16xHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_NPY_PREAMBLE = {(1, 0): struct.Struct("<H"), (2, 0): struct.Struct("<I")}  # the header's length
_NPY_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_PEEK = 1024  # bytes read ahead of a member's data: its local header, name, extra field, .npy header

_DIRECTORIES: OrderedDict[tuple, dict[str, tuple[int, int, int]]] = OrderedDict()
_MAX_DIRECTORIES = 1 << 14  # chunk files whose zip directory is kept (a 7-model, 50,000-image store has 5,474)
_HEADERS: dict[bytes, tuple[tuple[int, ...], np.dtype, bool]] = {}
_MAX_HEADERS = 256


def _directory(handle, key: tuple) -> dict[str, tuple[int, int, int]]:
    """``{member: (local header offset, CRC-32, compression)}`` of the open zip file ``handle``."""
    found = _DIRECTORIES.get(key)
    if found is None:
        with zipfile.ZipFile(handle) as archive:
            found = {info.filename: (info.header_offset, info.CRC, info.compress_type)
                     for info in archive.infolist()}
        _DIRECTORIES[key] = found
        if len(_DIRECTORIES) > _MAX_DIRECTORIES:
            _DIRECTORIES.popitem(last=False)
    return found


def _array_header(text: bytes, version: tuple[int, int]) -> tuple[tuple[int, ...], np.dtype, bool]:
    """(shape, dtype, Fortran order) of a ``.npy`` header's dict text, parsed once per text."""
    parsed = _HEADERS.get(text)
    if parsed is None:
        shape, fortran, dtype = _NPY_READERS[version](io.BytesIO(_NPY_PREAMBLE[version].pack(len(text)) + text))
        parsed = (tuple(shape), dtype, bool(fortran))
        if len(_HEADERS) < _MAX_HEADERS:
            _HEADERS[text] = parsed
    return parsed


def read_member_into(path: Path, name: str, out: np.ndarray, remedy: str) -> None:
    """Fill ``out`` (C-contiguous) with array ``name`` of the ``.npz`` at ``path``, whose dtype
    and shape must be ``out``'s."""
    try:
        with open(path, "rb", buffering=0) as handle:
            stat = os.fstat(handle.fileno())
            key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
            offset, crc_expected, method = _directory(handle, key)[f"{name}.npy"]
            if method != zipfile.ZIP_STORED:
                raise ValueError(f"member {name}.npy is compressed; store chunks are written stored")
            peek = os.pread(handle.fileno(), _PEEK, offset)
            if len(peek) < _LOCAL_HEADER.size:
                raise EOFError(f"the file ends inside the zip entry of {name}.npy")
            signature, method, name_length, extra_length = _LOCAL_HEADER.unpack_from(peek)
            entry = peek[_LOCAL_HEADER.size:_LOCAL_HEADER.size + name_length]
            if signature != _LOCAL_SIGNATURE or method != zipfile.ZIP_STORED or entry != f"{name}.npy".encode():
                raise ValueError(f"no stored zip entry {name}.npy at its directory's offset")
            start = _LOCAL_HEADER.size + name_length + extra_length
            magic = peek[start:start + 8]
            version = (magic[6], magic[7]) if magic[:6] == np.lib.format.MAGIC_PREFIX else None
            if version not in _NPY_PREAMBLE:
                raise ValueError(f"{name}.npy does not start with a .npy header")
            preamble = _NPY_PREAMBLE[version]
            text_start = start + 8 + preamble.size
            (text_length,) = preamble.unpack_from(peek, start + 8)
            header = peek[start:text_start + text_length]
            if len(header) != text_start + text_length - start:
                raise ValueError(f"{name}.npy has a header longer than {_PEEK} bytes")
            shape, dtype, fortran = _array_header(peek[text_start:text_start + text_length], version)
            if (shape, dtype, fortran) != (out.shape, out.dtype, False):
                raise ValueError(f"{name} is a {dtype} {shape} array, expected {out.dtype} {out.shape}")
            view = memoryview(out).cast("B")
            handle.seek(offset + text_start + text_length)
            if handle.readinto(view) != out.nbytes:
                raise EOFError(f"{name}.npy ends before its {out.nbytes} bytes of data")
            if zlib.crc32(view, zlib.crc32(header)) != crc_expected:
                raise ValueError(f"{name}.npy fails its CRC-32 check")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ReproError(f"{path} is damaged ({type(exc).__name__}: {exc}); {remedy}") from exc
