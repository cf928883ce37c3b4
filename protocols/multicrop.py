"""The paper's multi-crop test protocol (Section 7) as registered crop schemes: 1, 10 and 144 crops.

The geometry (resize, squares, crops, mirrors, canonical order) is the mechanism of
:mod:`repro.engine.crops`; this module states the paper's instances of it. A 144-crop store keeps
the 1- and 10-crop means too (``subsets``), so all of Table 3's crop counts come from one pass.
"""
from __future__ import annotations

from repro.engine.crops import CROP_SCHEMES, CropScheme

PAPER_CROP_SIZE = 224
PAPER_SCALES = (256, 288, 320, 352)

_GEOMETRY_NOTE = ("Resize rounding (long side rounded half up) and square/centre offsets (floored) are this "
                  "project's choice; the paper does not give them.")

CROPS_1 = CROP_SCHEMES.register("crops-1", CropScheme(
    id="crops-1", version=1, crop_size=PAPER_CROP_SIZE, scales=(256,), squares=(1,), kinds=("center",),
    mirrors=(False,),
    note="Table 3's 1-crop rows; a subset of crops-144. " + _GEOMETRY_NOTE,
    deviation="The paper does not define its 1-crop protocol; this project's definition: scale 256, "
              "centre square, centre crop, no mirror."))

CROPS_10 = CROP_SCHEMES.register("crops-10", CropScheme(
    id="crops-10", version=1, crop_size=PAPER_CROP_SIZE, scales=(256,), squares=(1,),
    kinds=("tl", "tr", "bl", "br", "center"),
    note="Table 3's 10-crop rows; a subset of crops-144 (order differs from GluonCV's ten_crop). "
         + _GEOMETRY_NOTE,
    deviation="The paper does not define its 10-crop protocol; this project's definition: scale 256, "
              "centre square, 4 corners + centre, and their mirrors (AlexNet-style 10 crops).",
    subsets=(CROPS_1,)))

CROPS_144 = CROP_SCHEMES.register("crops-144", CropScheme(
    id="crops-144", version=1, crop_size=PAPER_CROP_SIZE, scales=PAPER_SCALES,
    note="Section 7: 4 scales x 3 squares x (4 corners + centre + whole square) x 2 mirrors = 144 crops. "
         + _GEOMETRY_NOTE,
    subsets=(CROPS_1, CROPS_10)))
