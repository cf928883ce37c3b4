"""Show a crop scheme's boxes for an image size, or cut a real image into its crops.

Schemes: crops-1, crops-10, crops-144 (also written 1, 10, 144). --crop-size C gives the same geometry
for another crop size (scales multiplied by C/224, rounded half up: 112 -> 128, 144, 160, 176).
Crops are listed in canonical order: scale, square, kind (tl tr bl br center full), mirror.

  repro crops --scheme 144 --size 500x375 --json
  repro crops --scheme 10 --image photo.jpg --dump crops.npy
"""
from __future__ import annotations

import argparse
import re

from repro.commands._types import existing_file, interpolation, output_file, positive_int, text

NAME = "crops"
HELP = "crop-scheme boxes for an image size (--json), or an image's crops as .npy (--dump)"


def _image_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"image size {text!r} must be WIDTHxHEIGHT, e.g. 500x375")
    return int(match[1]), int(match[2])


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--scheme", type=text, default="144",
                        help="crop scheme id or crop count: 1, 10, 144, crops-10, ... (default: 144)")
    parser.add_argument("--crop-size", type=positive_int, metavar="C",
                        help="crop side in pixels; scales follow as C x 256/224, ... (default: the scheme's)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--size", type=_image_size, metavar="WxH", help="image width x height")
    source.add_argument("--image", type=existing_file, metavar="FILE", help="an image file (its size is used)")
    parser.add_argument("--json", action="store_true", help="print the crops as a JSON list")
    parser.add_argument("--dump", type=output_file, metavar="OUT.npy",
                        help="with --image: write the crops as uint8 [n, C, C, 3] RGB")
    parser.add_argument("--interpolation", type=interpolation, default="bilinear",
                        help="resize method for --dump: bilinear (default), area, bicubic, nearest, lanczos")


def run(args: argparse.Namespace) -> int:
    """Print the boxes (table or JSON) and, with --dump, write the crops."""
    from repro.engine.crop_listing import list_crops

    print(list_crops(args.scheme, args.crop_size, args.size, args.image, args.dump, args.interpolation,
                     args.json))
    return 0
