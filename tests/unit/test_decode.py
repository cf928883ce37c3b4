"""Robust decoding: every ILSVRC quirk decodes to RGB uint8; every bad file is refused by name."""
from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from repro.data.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_bytes, decode_image

SAMPLES = "imagenet-samples"
CAN_OPENER = "n02951585_can_opener.JPEG"  # EXIF Orientation=6, stored 392 wide x 294 high


def _solid_bgr_png(path: Path, bgr: tuple[int, ...], dtype=np.uint8) -> Path:
    image = np.empty((12, 16, len(bgr)), dtype)
    image[...] = bgr
    assert cv2.imwrite(str(path), image)
    return path


@functools.cache
def _grayscale_samples(folder: Path) -> tuple[Path, ...]:
    """The sample JPEGs stored as grayscale, found with Pillow as an independent reader."""
    found = []
    for path in sorted(folder.glob("*.JPEG")):
        with Image.open(path) as image:
            if image.mode == "L":
                found.append(path)
    return tuple(found)


# --- quirks ---------------------------------------------------------------------------------------

def test_the_23_grayscale_samples_decode_to_three_equal_channels(shared_data):
    paths = _grayscale_samples(shared_data(SAMPLES))
    assert len(paths) == 23
    for path in paths:
        image = decode_image(path)
        with Image.open(path) as reference:
            gray = np.asarray(reference)
        assert image.dtype == np.uint8 and image.shape == gray.shape + (3,), path
        assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all(), path
        assert np.abs(image[..., 0].astype(int) - gray).max() <= 1, path


def test_exif_orientation_is_kept_by_default_and_applied_on_request(shared_data):
    import mxnet as mx

    path = shared_data(SAMPLES, CAN_OPENER)
    with Image.open(path) as reference:
        assert reference.getexif().get(0x0112) == 6
        stored = np.asarray(reference.convert("RGB"))  # torchvision/timm: no transpose
    image = decode_image(path)
    assert image.shape == (294, 392, 3)
    np.testing.assert_array_equal(image, stored)
    np.testing.assert_array_equal(image, mx.image.imread(str(path)).asnumpy())  # GluonCV's reader
    rotated = decode_image(path, exif_orientation=True)
    assert rotated.shape == (392, 294, 3)
    np.testing.assert_array_equal(rotated, np.ascontiguousarray(np.rot90(image, k=-1)))  # 90° clockwise


@pytest.mark.parametrize("cmyk, rgb", [((0, 255, 255, 0), (255, 0, 0)), ((0, 128, 255, 0), (255, 127, 0)),
                                       ((0, 0, 0, 191), (64, 64, 64))])
def test_cmyk_jpeg_decodes_to_its_rgb_colour(tmp_path, cmyk, rgb):
    path = tmp_path / "cmyk.JPEG"
    Image.new("CMYK", (32, 24), cmyk).save(path, quality=95)
    with Image.open(path) as written:
        assert written.mode == "CMYK"
    image = decode_image(path)
    assert image.shape == (24, 32, 3)
    assert np.abs(image.reshape(-1, 3).astype(int) - rgb).max() <= 4


def test_png_named_jpeg(tmp_path):
    png = _solid_bgr_png(tmp_path / "x.png", (30, 20, 10))
    disguised = png.rename(tmp_path / "n02105855_2933.JPEG")
    image = decode_image(disguised)
    assert image.shape == (12, 16, 3) and (image == (10, 20, 30)).all()


def test_sixteen_bit_png_is_scaled_to_eight_bits(tmp_path):
    colour = _solid_bgr_png(tmp_path / "c16.png", (256, 32768, 65535), np.uint16)
    assert (decode_image(colour).reshape(-1, 3) == (255, 128, 1)).all()
    gray = tmp_path / "g16.png"
    assert cv2.imwrite(str(gray), np.full((5, 7), 40000, np.uint16))
    image = decode_image(gray)
    assert image.shape == (5, 7, 3) and (np.abs(image.astype(int) - 40000 / 256) <= 1).all()


def test_alpha_is_dropped(tmp_path):
    path = _solid_bgr_png(tmp_path / "rgba.png", (30, 20, 10, 0))  # fully transparent
    image = decode_image(path)
    assert image.shape == (12, 16, 3) and (image == (10, 20, 30)).all()


def test_decode_bytes_matches_decode_image_and_trailing_bytes_are_fine(shared_data):
    path = shared_data(SAMPLES, "n01440764_tench.JPEG")
    data = path.read_bytes()
    np.testing.assert_array_equal(decode_bytes(data, "record 7"), decode_image(path))
    np.testing.assert_array_equal(decode_bytes(data + b"\x00" * 100, "padded"), decode_image(path))


# --- bad files ------------------------------------------------------------------------------------

def _exif_thumbnail_segment() -> bytes:
    """An APP1 segment carrying bytes FF D8 ... FF D9, as an EXIF thumbnail does."""
    payload = b"Exif\x00\x00" + b"\xff\xd8" + bytes(40) + b"\xff\xd9"
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def _bad_files(sample: bytes) -> dict[str, bytes]:
    png = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))[1].tobytes()
    return {
        "empty.JPEG": b"",
        "half.JPEG": sample[: len(sample) // 2],
        "no_eoi.JPEG": sample[:-2],
        "thumbnail_then_cut.JPEG": sample[:2] + _exif_thumbnail_segment() + sample[2:len(sample) // 2],
        "cut_in_header.JPEG": sample[:300],
        "half.png": png[: len(png) // 2],
        "no_iend.png": png[:-12],
        "random.JPEG": np.random.default_rng(1).integers(0, 256, 5000, np.uint8).tobytes(),
        "text.JPEG": b"<html>404 Not Found</html>\n",
        "gif.JPEG": b"GIF89a" + bytes(50),
        # a partial download into a preallocated file: the right length, zeros at the end
        "zero_filled.JPEG": sample[: len(sample) // 2] + bytes(len(sample) - len(sample) // 2),
    }


@pytest.mark.parametrize("name", list(_bad_files(bytes(1000))))
def test_bad_file_raises_naming_the_file(shared_data, tmp_path, name):
    sample = shared_data(SAMPLES, "n01440764_tench.JPEG").read_bytes()
    path = tmp_path / name
    path.write_bytes(_bad_files(sample)[name])
    with pytest.raises(ImageDecodeError, match=rf"^{path}: cannot decode image"):
        decode_image(path)


@pytest.mark.parametrize("name", ["half.JPEG", "no_eoi.JPEG", "thumbnail_then_cut.JPEG", "zero_filled.JPEG",
                                  "half.png", "no_iend.png"])
def test_truncation_is_detected_before_decoding(shared_data, tmp_path, name):
    sample = shared_data(SAMPLES, "n01440764_tench.JPEG").read_bytes()
    with pytest.raises(ImageDecodeError, match="truncated"):
        decode_bytes(_bad_files(sample)[name], name)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ImageDecodeError, match=rf"{tmp_path / 'absent.JPEG'}: cannot read image file"):
        decode_image(tmp_path / "absent.JPEG")


def test_pixel_limit_is_checked_on_the_header(shared_data, tmp_path):
    path = shared_data(SAMPLES, CAN_OPENER)
    assert decode_image(path, max_pixels=392 * 294).shape == (294, 392, 3)
    with pytest.raises(ImageDecodeError, match="392x294 = 115248 pixels exceeds the limit of 115247"):
        decode_image(path, max_pixels=392 * 294 - 1)
    # A 1x1 PNG whose header claims 60000x60000: refused from the header, never decoded
    # (its pixel data could not even be decoded: the IHDR checksum no longer matches).
    png = bytearray(cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tobytes())
    png[16:24] = (60000).to_bytes(4, "big") * 2
    (tmp_path / "bomb.png").write_bytes(bytes(png))
    assert 60000 * 60000 > DEFAULT_MAX_PIXELS
    with pytest.raises(ImageDecodeError, match="bomb.png: .*60000x60000 = 3600000000 pixels exceeds"):
        decode_image(tmp_path / "bomb.png")

