"""Show a crop scheme's boxes for an image size, or cut a real image into its crops.

Schemes: crops-1, crops-10, crops-144 (also written 1, 10, 144). --crop-size C gives the same geometry
for another crop size (scales multiplied by C/224, rounded half up: 112 -> 128, 144, 160, 176).
Crops are listed in canonical order: scale, square, kind (tl tr bl br center full), mirror.

  repro crops --scheme 144 --size 500x375 --json
  repro crops --scheme 10 --image photo.jpg --dump crops.npy
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from repro.errors import ReproError

NAME = "crops"
HELP = "crop-scheme boxes for an image size (--json), or an image's crops as .npy (--dump)"


def _image_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"image size {text!r} must be WIDTHxHEIGHT, e.g. 500x375")
    return int(match[1]), int(match[2])


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--scheme", default="144",
                        help="crop scheme id or crop count: 1, 10, 144, crops-10, ... (default: 144)")
    parser.add_argument("--crop-size", type=int, metavar="C",
                        help="crop side in pixels; scales follow as C x 256/224, ... (default: the scheme's)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--size", type=_image_size, metavar="WxH", help="image width x height")
    source.add_argument("--image", type=Path, metavar="FILE", help="an image file (its size is used)")
    parser.add_argument("--json", action="store_true", help="print the crops as a JSON list")
    parser.add_argument("--dump", type=Path, metavar="OUT.npy",
                        help="with --image: write the crops as uint8 [n, C, C, 3] RGB")
    parser.add_argument("--interpolation", default="bilinear",
                        help="resize method for --dump: bilinear (default), area, bicubic, nearest, lanczos")


def run(args: argparse.Namespace) -> int:
    """Print the boxes (table or JSON) and, with --dump, write the crops."""
    import numpy as np

    from protocols.multicrop import extract_crops, get_scheme

    scheme = get_scheme(args.scheme)
    if args.crop_size is not None:
        scheme = scheme.for_crop_size(args.crop_size)
    if args.dump and not args.image:
        raise ReproError("--dump needs --image FILE: there is no image to crop with --size")
    if args.image:
        from repro.data.decode import decode_image
        image = decode_image(args.image)
        height, width = image.shape[:2]
    else:
        width, height = args.size
    crops = scheme.boxes(width, height)

    if args.dump:
        array = extract_crops(image, scheme, args.interpolation)
        try:
            with open(args.dump, "wb") as out:  # a file object: np.save would append .npy to a bare path
                np.save(out, array)
        except OSError as exc:
            raise ReproError(f"cannot write crops to {args.dump}: {exc.strerror or exc}") from exc
    if args.json:
        print(json.dumps([crop.as_dict() for crop in crops]))
        return 0

    print(f"{scheme.id} v{scheme.version}: {scheme.n_crops} crops of {scheme.crop_size}x{scheme.crop_size} "
          f"from a {width}x{height} image")
    if scheme.deviation:
        print(f"deviation: {scheme.deviation}")
    for i, crop in enumerate(crops):
        print(f"{i:4d}  scale {crop.scale}  square {crop.square}  {crop.kind:6s}  "
              f"{'mirror' if crop.mirror else '      '}  resized {crop.resized[0]}x{crop.resized[1]}  "
              f"box {crop.box}")
    if args.dump:
        print(f"wrote {array.shape[0]} crops, array {list(array.shape)} uint8 RGB, to {args.dump}")
    return 0
