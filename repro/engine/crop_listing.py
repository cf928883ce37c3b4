"""`repro crops`: a scheme's crops for an image size, listed, or a real image cut into them (.npy)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from repro.atomic import write_bytes
from repro.data.decode import decode_image
from repro.engine.crops import extract_crops, get_scheme
from repro.errors import ReproError


def list_crops(scheme_name: str, crop_size: int | None = None, size: tuple[int, int] | None = None,
               image: Path | None = None, dump: Path | None = None, interpolation: str = "bilinear",
               as_json: bool = False) -> str:
    """The listing of scheme ``scheme_name``'s crops (JSON with ``as_json``) for a ``size`` = (W, H)
    image or for ``image``; with ``dump``, ``image``'s crops written as uint8 [n, C, C, 3] RGB."""
    scheme = get_scheme(scheme_name)
    if crop_size is not None:
        scheme = scheme.for_crop_size(crop_size)
    if dump and not image:
        raise ReproError("--dump needs --image FILE: there is no image to crop with --size")
    pixels = None
    if image:
        pixels = decode_image(image)
        height, width = pixels.shape[:2]
    else:
        width, height = size
    crops = scheme.boxes(width, height)
    if dump:
        array = extract_crops(pixels, scheme, interpolation)
        buffer = io.BytesIO()  # a file object: np.save would append .npy to a bare path
        np.save(buffer, array)
        write_bytes(dump, buffer.getvalue())
    if as_json:
        return json.dumps([crop.as_dict() for crop in crops])
    lines = [f"{scheme.id} v{scheme.version}: {scheme.n_crops} crops of {scheme.crop_size}x{scheme.crop_size} "
             f"from a {width}x{height} image"]
    if scheme.deviation:
        lines.append(f"deviation: {scheme.deviation}")
    lines += [f"{i:4d}  scale {crop.scale}  square {crop.square}  {crop.kind:6s}  "
              f"{'mirror' if crop.mirror else '      '}  resized {crop.resized[0]}x{crop.resized[1]}  "
              f"box {crop.box}" for i, crop in enumerate(crops)]
    if dump:
        lines.append(f"wrote {array.shape[0]} crops, array {list(array.shape)} uint8 RGB, to {dump}")
    return "\n".join(lines)
