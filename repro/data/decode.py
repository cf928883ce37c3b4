"""Decode an image file or RecordIO payload to an (H, W, 3) uint8 RGB array, refusing bad ones by name.

Decoder: OpenCV's ``cv2.imdecode``, the decoder behind ``mx.image.imdecode`` (GluonCV's pipeline) and
im2rec, so pixels match the MXNet reference. It is not PIL anywhere.

Formats: JPEG and PNG, recognised by their signature, not the file name (ILSVRC2012 train holds a
PNG named ``.JPEG``); anything else is refused (ILSVRC holds nothing else). Handled by OpenCV's
``IMREAD_COLOR``: CMYK/YCCK JPEG (converted to RGB, as in ``ILSVRC2012_val_00019877.JPEG``),
grayscale (replicated to three channels), 16-bit PNG (scaled to 8 bits), palette PNG (expanded) and
alpha (dropped, not composited, as PIL's ``convert("RGB")`` and ``mx.image`` also do).

EXIF orientation (``exif_orientation``, default False = NOT applied): the reference pipelines do not
apply it. Measured on ``n02951585_can_opener.JPEG`` (Orientation=6, stored 392 wide x 294 high):
PIL's ``Image.open(...).convert("RGB")`` (torchvision, timm) and ``mx.image.imread`` of MXNet 1.9.1
(GluonCV) both return the stored 294x392 pixels, identical to ``cv2.imdecode`` with
``IMREAD_IGNORE_ORIENTATION``; only a modern OpenCV's default ``imread``/``imdecode`` would rotate it
to 392x294. The ILSVRC labels and published accuracies belong to the stored pixels, so they are kept;
``exif_orientation=True`` applies the tag as OpenCV does by default.

Truncation: a JPEG must have its end-of-image marker (FFD9) after the start of its scan data and a
PNG must reach its IEND chunk. This is checked before decoding because OpenCV's verdict on a
truncated JPEG depends on its build: MXNet 1.9.1's bundled OpenCV decodes a half-missing file
without complaint (grey lower half), OpenCV 4.11 returns nothing.

Decompression bombs: width x height is read from the JPEG frame header (SOFn) or the PNG IHDR and an
image above ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`, Pillow's ``MAX_IMAGE_PIXELS``) is
refused before any pixel is decoded. The header walk is written here because OpenCV offers no
header-only read from Python, and Pillow's lazy open would apply its own bomb limits.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from repro.errors import ReproError

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's MAX_IMAGE_PIXELS; ILSVRC images are far below it

_JPEG_SIGNATURE = b"\xff\xd8"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Frame headers: SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM carry no length
_SOS, _EOI = 0xDA, 0xD9


class ImageDecodeError(ReproError):
    """An image file that cannot be decoded (empty, truncated, corrupt, unsupported or too large)."""


class _Unusable(Exception):
    """Why the bytes cannot be decoded; :func:`decode_bytes` adds the name and re-raises."""


def _jpeg_size_and_scan(data: bytes) -> tuple[int, int, int]:
    """``(width, height, offset of the first scan's entropy-coded data)`` from the marker segments."""
    position, size = 2, None
    while True:
        if position + 4 > len(data):
            raise _Unusable("truncated: the file ends inside the JPEG header")
        if data[position] != 0xFF:
            raise _Unusable(f"corrupt JPEG header: no marker at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _STANDALONE_MARKERS:
            position += 2
            continue
        if marker == _EOI:
            raise _Unusable("corrupt JPEG: end-of-image before any image data")
        length = int.from_bytes(data[position + 2:position + 4], "big")
        if length < 2:
            raise _Unusable(f"corrupt JPEG header: segment length {length} at byte {position}")
        if marker in _SOF_MARKERS:
            if position + 9 > len(data):
                raise _Unusable("truncated: the file ends inside the JPEG frame header")
            height = int.from_bytes(data[position + 5:position + 7], "big")
            width = int.from_bytes(data[position + 7:position + 9], "big")
            size = (width, height)
        if marker == _SOS:
            if size is None:
                raise _Unusable("corrupt JPEG: scan data before a frame header")
            return size[0], size[1], position + 2 + length
        position += 2 + length


def _jpeg_size(data: bytes) -> tuple[int, int]:
    width, height, scan_start = _jpeg_size_and_scan(data)
    # Entropy-coded data never holds FFD9 (FF is stuffed as FF00), so the first one after the scan
    # start is the end-of-image marker; an embedded EXIF thumbnail's FFD9 lies before the scan.
    if data.find(b"\xff\xd9", scan_start) < 0:
        raise _Unusable("truncated: no JPEG end-of-image marker (FFD9) after the scan data")
    return width, height


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise _Unusable("truncated or corrupt PNG: no IHDR header")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    position = 8
    while position + 8 <= len(data):  # chunks: 4-byte length, 4-byte type, data, 4-byte CRC
        if data[position + 4:position + 8] == b"IEND":
            return width, height
        position += 12 + int.from_bytes(data[position:position + 4], "big")
    raise _Unusable("truncated: the PNG ends before its IEND chunk")


def _header_size(data: bytes, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` of a complete JPEG or PNG within ``max_pixels``, else :class:`_Unusable`."""
    if not data:
        raise _Unusable("the file is empty (0 bytes)")
    if data.startswith(_JPEG_SIGNATURE):
        width, height = _jpeg_size(data)
    elif data.startswith(_PNG_SIGNATURE):
        width, height = _png_size(data)
    else:
        raise _Unusable(f"not a JPEG or PNG (first bytes {data[:8].hex()})")
    if width == 0 or height == 0:
        raise _Unusable(f"the header gives a {width}x{height} image")
    if width * height > max_pixels:
        raise _Unusable(f"{width}x{height} = {width * height} pixels exceeds the limit of {max_pixels} "
                        f"(decompression-bomb guard; raise max_pixels if the image is genuine)")
    return width, height


def decode_bytes(data: bytes, name: str, *, exif_orientation: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode encoded JPEG/PNG ``data`` to (H, W, 3) uint8 RGB; ``name`` is used in error messages.

    ``exif_orientation``: apply the EXIF Orientation tag (default False, as PIL and ``mx.image`` do).
    ``max_pixels``: refuse images whose header announces more pixels, before decoding them.
    Raises :class:`ImageDecodeError` naming ``name`` for empty, truncated, corrupt, unsupported or
    oversized data.
    """
    data = bytes(data)
    try:
        width, height = _header_size(data, max_pixels)
    except _Unusable as exc:
        raise ImageDecodeError(f"{name}: cannot decode image: {exc}") from None
    flags = cv2.IMREAD_COLOR if exif_orientation else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        raise ImageDecodeError(f"{name}: cannot decode image: OpenCV error: {exc}") from exc
    if image is None:
        raise ImageDecodeError(f"{name}: cannot decode image: OpenCV could not decode the "
                               f"{width}x{height} image data (corrupt image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def decode_image(path: str | os.PathLike, *, exif_orientation: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read and decode the image file at ``path`` to (H, W, 3) uint8 RGB (see :func:`decode_bytes`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read image file: {exc}") from exc
    return decode_bytes(data, str(path), exif_orientation=exif_orientation, max_pixels=max_pixels)
