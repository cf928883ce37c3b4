"""Crop schemes 1/10/144 and the parametric variant: geometry, subsets, extraction and the `crops` CLI."""
from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from protocols.multicrop import CROPS_1, CROPS_10, CROPS_144
from repro.cli import main
from repro.engine.crops import CROP_SCHEMES, CropScheme, extract_crops, get_scheme, resized_size
from repro.errors import ReproError

KIND_ORDER = ["tl", "tr", "bl", "br", "center", "full"]


def index_144(scale_i: int, square: int, kind: str, mirror: bool) -> int:
    """Position in crops-144 from the documented canonical order (36 per scale, 12 per square)."""
    return scale_i * 36 + square * 12 + KIND_ORDER.index(kind) * 2 + int(mirror)


def box_of(scheme: CropScheme, width: int, height: int, index: int) -> tuple:
    return scheme.boxes(width, height)[index].box


def test_landscape_boxes_by_hand():
    # 500x375, S=256: long side floor(500*256/375 + 0.5) = floor(341.33 + 0.5) = 341; slack 85 ->
    # squares at x = 0, 42, 85. S=288: 500*288/375 = 384 exactly; slack 96 -> 0, 48, 96.
    # S=320: 426.67 -> 427, slack 107 -> 0, 53, 107. S=352: 469.33 -> 469, slack 117 -> 0, 58, 117.
    crops = CROPS_144.boxes(500, 375)
    assert [c.resized for c in crops[::36]] == [(341, 256), (384, 288), (427, 320), (469, 352)]
    assert crops[index_144(0, 0, "tl", False)].box == (0, 0, 224, 224)
    # centre square at x=42, centre crop at (256-224)//2 = 16 inside it.
    assert crops[index_144(0, 1, "center", False)].box == (58, 16, 282, 240)
    assert crops[index_144(0, 2, "full", False)].box == (85, 0, 341, 256)
    # S=288 centre square at 48; tr at x = 288-224 = 64 inside it.
    assert crops[index_144(1, 1, "tr", False)].box == (112, 0, 336, 224)
    # S=320 centre square at 53; centre crop at (320-224)//2 = 48; full is the whole square.
    assert crops[index_144(2, 1, "center", True)].box == (101, 48, 325, 272)
    assert crops[index_144(2, 1, "full", False)].box == (53, 0, 373, 320)
    # S=352 right square at 117; br at (128, 128) inside it.
    assert crops[index_144(3, 2, "br", False)].box == (245, 128, 469, 352)


def test_portrait_boxes_by_hand():
    # 375x500 is the landscape case transposed: squares go top/centre/bottom along y.
    crops = CROPS_144.boxes(375, 500)
    assert [c.resized for c in crops[::36]] == [(256, 341), (288, 384), (320, 427), (352, 469)]
    assert crops[index_144(0, 1, "center", False)].box == (16, 58, 240, 282)
    assert crops[index_144(0, 2, "full", True)].box == (0, 85, 256, 341)
    # S=288, centre square at y=48, tr at x=64, y=0 inside it.
    assert crops[index_144(1, 1, "tr", False)].box == (64, 48, 288, 272)
    # S=288, bl at x=0, y=64 inside the centre square: y = 48 + 64 = 112.
    assert crops[index_144(1, 1, "bl", False)].box == (0, 112, 224, 336)
    assert crops[index_144(3, 2, "br", False)].box == (128, 245, 352, 469)


def test_square_image_keeps_three_coinciding_squares():
    crops = CROPS_144.boxes(300, 300)
    assert len(crops) == 144
    assert [c.resized for c in crops[::36]] == [(256, 256), (288, 288), (320, 320), (352, 352)]
    for scale_i in range(4):
        per_square = [[c.box for c in crops[scale_i * 36 + sq * 12: scale_i * 36 + sq * 12 + 12]]
                      for sq in range(3)]
        assert per_square[0] == per_square[1] == per_square[2]
    assert crops[index_144(3, 1, "br", False)].box == (128, 128, 352, 352)
    assert crops[index_144(3, 0, "full", False)].box == (0, 0, 352, 352)


@pytest.mark.parametrize("size", [(500, 375), (375, 500), (300, 300), (40, 30), (1000, 50), (257, 256)])
def test_invariants_of_all_144_boxes(size):
    width, height = size
    crops = CROPS_144.boxes(width, height)
    expected_order = list(itertools.product([256, 288, 320, 352], [0, 1, 2], KIND_ORDER, [False, True]))
    assert [(c.scale, c.square, c.kind, c.mirror) for c in crops] == expected_order
    for crop in crops:
        w2, h2 = crop.resized
        short, long = min(width, height), max(width, height)
        assert min(w2, h2) == crop.scale
        assert abs(max(w2, h2) - long * crop.scale / short) <= 0.5
        assert (w2 >= h2) == (width >= height)
        x0, y0, x1, y1 = crop.box
        assert 0 <= x0 < x1 <= w2 and 0 <= y0 < y1 <= h2
        side = crop.scale if crop.kind == "full" else 224
        assert (x1 - x0, y1 - y0) == (side, side)
    for unmirrored, mirrored in zip(crops[::2], crops[1::2]):
        assert unmirrored.box == mirrored.box and not unmirrored.mirror and mirrored.mirror
    # Each square's crops lie inside its full box; the centre square is centred to within a pixel.
    for full in (c for c in crops if c.kind == "full"):
        fx0, fy0, fx1, fy1 = full.box
        for c in crops:
            if (c.scale, c.square) == (full.scale, full.square):
                assert fx0 <= c.box[0] and fy0 <= c.box[1] and c.box[2] <= fx1 and c.box[3] <= fy1
        if full.square == 1:
            w2, h2 = full.resized
            assert abs(fx0 - (w2 - fx1)) <= 1 and abs(fy0 - (h2 - fy1)) <= 1


def test_resize_rounds_half_up():
    # 3x2 to shorter side 3: long side 3*3/2 = 4.5 -> 5 (Python's round() would give 4).
    assert resized_size(3, 2, 3) == (5, 3)
    assert resized_size(2, 3, 3) == (3, 5)
    assert resized_size(500, 375, 256) == (341, 256)


def test_10_and_1_crop_schemes_are_subsets_at_documented_indices():
    # Scale 256 is block 0..35, the centre square starts at 12; kinds tl..center x mirrors -> 12..21.
    np.testing.assert_array_equal(CROPS_144.subset_indices(CROPS_10), np.arange(12, 22))
    # centre crop (kind 4) unmirrored in the centre square: 12 + 4*2 = 20.
    np.testing.assert_array_equal(CROPS_144.subset_indices(CROPS_1), [20])
    for size in [(500, 375), (375, 500), (300, 300)]:
        all_crops = CROPS_144.boxes(*size)
        for small in (CROPS_10, CROPS_1):
            picked = [all_crops[i] for i in CROPS_144.subset_indices(small)]
            assert picked == small.boxes(*size)
    assert CROPS_10.subset_indices(CROPS_1).tolist() == [8]


def test_subset_indices_refuses_non_subsets():
    with pytest.raises(ReproError, match="crops-144.*not a subset of 'crops-10'"):
        CROPS_10.subset_indices(CROPS_144)
    with pytest.raises(ReproError, match="crop size 112"):
        CROPS_144.subset_indices(CROPS_10.for_crop_size(112))


def test_scale_prefixes_give_the_crop_count_curve():
    prefixes = CROPS_144.scale_prefix_indices()
    assert [len(p) for p in prefixes] == [36, 72, 108, 144]
    crops = CROPS_144.boxes(500, 375)
    for k, prefix in enumerate(prefixes):
        assert {crops[i].scale for i in prefix} == set([256, 288, 320, 352][:k + 1])


def test_registry_and_short_names():
    assert CROP_SCHEMES.ids() == ["crops-1", "crops-10", "crops-144"]
    assert get_scheme("144") is CROPS_144 and get_scheme("crops-10") is CROPS_10 and get_scheme("1") is CROPS_1
    assert (CROPS_1.n_crops, CROPS_10.n_crops, CROPS_144.n_crops) == (1, 10, 144)
    assert "does not define" in CROPS_10.deviation and CROPS_144.deviation == ""
    with pytest.raises(ReproError, match="crops-144"):
        get_scheme("145")


def test_parametric_scheme_at_112_has_the_analogous_geometry():
    scheme = CROPS_144.for_crop_size(112)
    assert scheme.id == "crops-144-c112" and scheme.scales == (128, 144, 160, 176)
    assert "112" in scheme.deviation
    # 500x375 at S=128: 500*128/375 = 170.67 -> 171, slack 43 -> squares 0, 21, 43; crop slack 16.
    crops = scheme.boxes(500, 375)
    assert len(crops) == 144 and crops[0].resized == (171, 128)
    assert crops[index_144(0, 1, "center", False)].box == (21 + 8, 8, 21 + 8 + 112, 120)
    assert crops[index_144(0, 2, "full", False)].box == (43, 0, 171, 128)
    # S=176: 500*176/375 = 234.67 -> 235, slack 59 -> right square at 59; br at (64, 64) inside it.
    assert crops[index_144(3, 2, "br", False)].box == (123, 64, 235, 176)
    np.testing.assert_array_equal(scheme.subset_indices(CROPS_10.for_crop_size(112)), np.arange(12, 22))
    np.testing.assert_array_equal(scheme.subset_indices(CROPS_1.for_crop_size(112)), [20])
    # Another size: 100 * (256, 288, 320, 352) / 224 = 114.3, 128.6, 142.9, 157.1.
    assert CROPS_144.for_crop_size(100).scales == (114, 129, 143, 157)


def test_parametric_scales_round_half_up():
    base = CropScheme(id="toy", version=1, crop_size=4, scales=(6,), kinds=("center",))
    assert base.for_crop_size(3).scales == (5,)  # 6 * 3 / 4 = 4.5 -> 5


def test_crop_larger_than_scale_is_an_error_naming_the_scheme():
    with pytest.raises(ReproError, match="'too-big'.*crop size 300 exceeds scale"):
        CropScheme(id="too-big", version=1, crop_size=300, scales=(256, 320))
    with pytest.raises(ReproError, match="'odd-order'.*kinds"):
        CropScheme(id="odd-order", version=1, crop_size=224, scales=(256,), kinds=("center", "tl"))


def write_png(path, pixels: np.ndarray) -> None:
    Image.fromarray(pixels, "RGB").save(path)  # PNG is lossless: the decoded pixels are these


def test_dump_crops_at_native_scale_are_exact_slices_and_flips(tmp_path):
    # Shorter side already 256: at scale 256 the "resized" image is the image itself (320x256),
    # so every non-full crop there must be an exact slice, and each mirror its left-right flip.
    rgb = np.random.default_rng(7).integers(0, 256, (256, 320, 3), dtype=np.uint8)
    write_png(tmp_path / "img.png", rgb)
    out = tmp_path / "crops.npy"
    assert main(["crops", "--scheme", "144", "--image", str(tmp_path / "img.png"),
                 "--dump", str(out), "--json"]) == 0
    crops = np.load(out)
    assert crops.shape == (144, 224, 224, 3) and crops.dtype == np.uint8
    # Centre square at x = (320-256)//2 = 32, centre crop at 16 inside it.
    np.testing.assert_array_equal(crops[index_144(0, 1, "center", False)], rgb[16:240, 48:272])
    np.testing.assert_array_equal(crops[index_144(0, 2, "br", True)], rgb[32:256, 96:320][:, ::-1])
    boxes = CROPS_144.boxes(320, 256)
    for i, crop in enumerate(boxes[:36]):
        x0, y0, x1, y1 = crop.box
        if crop.kind != "full":
            expected = rgb[y0:y1, x0:x1]
            np.testing.assert_array_equal(crops[i], expected[:, ::-1] if crop.mirror else expected)
        elif crop.mirror:
            np.testing.assert_array_equal(crops[i], crops[i - 1][:, ::-1])
    # Larger scales: the crops are slices of one resize of the image (bilinear by default).
    for i, crop in enumerate(boxes[36:], start=36):
        if crop.kind != "full" and not crop.mirror:
            x0, y0, x1, y1 = crop.box
            resized = cv2.resize(rgb, crop.resized, interpolation=cv2.INTER_LINEAR)
            np.testing.assert_array_equal(crops[i], resized[y0:y1, x0:x1])


def test_full_crop_is_the_whole_square_resized():
    # 768x256: three disjoint 256-squares, each filled with its own colour inside a 16-pixel white
    # border. Centre crops (16..240) see only the fill; full crops keep the border at their edges.
    fills = [(200, 0, 0), (0, 200, 0), (0, 0, 200)]
    image = np.full((256, 768, 3), 255, dtype=np.uint8)
    for square, fill in enumerate(fills):
        image[16:240, square * 256 + 16: square * 256 + 240] = fill
    crops = extract_crops(image, CROPS_144)
    for square, fill in enumerate(fills):
        assert (crops[index_144(0, square, "center", False)] == fill).all()
        full = crops[index_144(0, square, "full", False)]
        assert tuple(full[112, 112]) == fill
        assert tuple(full[0, 0]) == tuple(full[223, 223]) == tuple(full[0, 223]) == (255, 255, 255)
        assert tuple(crops[index_144(0, square, "tl", False)][0, 0]) == (255, 255, 255)


def test_interpolation_is_a_parameter():
    # Nearest-neighbour upscaling by exactly 2 repeats every pixel twice along both axes.
    rgb = np.random.default_rng(3).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    doubled = np.repeat(np.repeat(rgb, 2, axis=0), 2, axis=1)
    crops = extract_crops(rgb, CROPS_10, interpolation="nearest")
    corners = {"tl": (0, 0), "tr": (32, 0), "bl": (0, 32), "br": (32, 32), "center": (16, 16)}
    for i, (kind, mirror) in enumerate(itertools.product(corners, [False, True])):
        x, y = corners[kind]
        expected = doubled[y:y + 224, x:x + 224]
        np.testing.assert_array_equal(crops[i], expected[:, ::-1] if mirror else expected)
    with pytest.raises(ReproError, match="bilinear"):
        extract_crops(rgb, CROPS_1, interpolation="bilinearr")


def test_small_image_is_upscaled_and_bad_arrays_are_refused():
    tiny = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    assert extract_crops(tiny, CROPS_144).shape == (144, 224, 224, 3)
    assert extract_crops(tiny, CROPS_144.for_crop_size(112)).shape == (144, 112, 112, 3)
    with pytest.raises(ReproError, match="uint8"):
        extract_crops(tiny.astype(np.float32), CROPS_1)
    with pytest.raises(ReproError, match=r"\(H, W, 3\)"):
        extract_crops(tiny[:, :, 0], CROPS_1)


def test_cli_json_matches_boxes(capsys):
    assert main(["crops", "--scheme", "144", "--size", "500x375", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 144
    assert listed[index_144(0, 1, "center", False)] == {
        "scale": 256, "square": 1, "kind": "center", "mirror": False,
        "resized": [341, 256], "box": [58, 16, 282, 240]}
    assert listed == [c.as_dict() for c in CROPS_144.boxes(500, 375)]

    assert main(["crops", "--scheme", "10", "--crop-size", "112", "--size", "375x500", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [c.as_dict() for c in CROPS_10.for_crop_size(112).boxes(375, 500)]
    assert {c["scale"] for c in listed} == {128}


def test_cli_errors_are_one_line_exit_2(capsys):
    assert main(["crops", "--scheme", "145", "--size", "500x375"]) == 2
    assert "crops-144" in capsys.readouterr().err
    assert main(["crops", "--size", "500x375", "--dump", "x.npy"]) == 2
    assert "--dump needs --image" in capsys.readouterr().err
