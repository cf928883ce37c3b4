"""The real ILSVRC file formats, written for the mini-ILSVRC (byte-deterministic).

Devkit classification ground truth, ``meta.mat`` / ``meta_det.mat`` synset tables, DET XML
annotations, DET eval lists and blacklists, and image encodings including the real data's odd files
(CMYK JPEG, PNG named .JPEG, grayscale JPEG, JPEG with EXIF orientation).
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Iterable, Sequence

import cv2
import numpy as np
import scipy.io
from PIL import ExifTags, Image

from repro.data.mini.classes import MiniClass
from repro.data.mini.draw import DrawnObject

JPEG_QUALITY = 90

QUIRKS: dict[str, str] = {
    "cmyk": "a CMYK JPEG (as ILSVRC2012_val_00019877.JPEG and 22 training files are)",
    "png": "PNG data under a .JPEG name (as the training file n02105855_2933.JPEG is)",
    "grayscale": "a single-channel (grayscale) JPEG (both real splits contain some)",
    "exif-rotated": "a JPEG whose pixels are stored rotated 90 degrees counter-clockwise with EXIF "
                    "Orientation=6, so that applying the EXIF orientation gives the upright image",
}

# scipy.io.savemat stamps the creation time into the 116-byte MAT-file header text, which would make
# every run's .mat file differ; the header is replaced by a fixed text (the format allows any text).
_MAT_HEADER_TEXT = b"MATLAB 5.0 MAT-file, written by the repro mini-ILSVRC generator (scipy.io)"
_MAT_HEADER_BYTES = 116


def encode_image(rgb: np.ndarray, quirk: str | None = None) -> bytes:
    """The file bytes of an RGB uint8 image: a baseline JPEG, or the named quirk of :data:`QUIRKS`."""
    if quirk is None:
        return _cv2_encode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if quirk == "grayscale":
        return _cv2_encode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    if quirk == "png":
        return _cv2_encode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    # OpenCV writes neither CMYK nor EXIF, so these two are written with Pillow.
    buffer = io.BytesIO()
    if quirk == "cmyk":
        Image.fromarray(rgb).convert("CMYK").save(buffer, "JPEG", quality=JPEG_QUALITY)
    elif quirk == "exif-rotated":
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = 6  # "rotate 90 degrees clockwise to display"
        stored = np.ascontiguousarray(np.rot90(rgb))  # rot90 turns counter-clockwise
        Image.fromarray(stored).save(buffer, "JPEG", quality=JPEG_QUALITY, exif=exif)
    else:
        raise ValueError(f"unknown image quirk {quirk!r}; known: {', '.join(QUIRKS)}")
    return buffer.getvalue()


def _cv2_encode(extension: str, image: np.ndarray) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if extension == ".jpg" else []
    ok, data = cv2.imencode(extension, image, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {image.shape} image as {extension}")
    return data.tobytes()


def lines_text(lines: Iterable[object]) -> bytes:
    """One item per line, LF endings, final newline: the devkit's text-file convention."""
    return "".join(f"{line}\n" for line in lines).encode("ascii")


def eval_list_text(names: Sequence[str]) -> bytes:
    """A DET eval list (``det_lists/val.txt``): ``<image name> <index>``, index = line number."""
    return lines_text(f"{name} {index}" for index, name in enumerate(names, start=1))


def det_blacklist_text(entries: Iterable[tuple[int, str]]) -> bytes:
    """A DET blacklist: ``<image index> <WNID>`` lines, sorted by index as in the devkit."""
    return lines_text(f"{index} {wnid}" for index, wnid in sorted(entries))


def det_annotation_xml(name: str, width: int, height: int, objects: Sequence[tuple[str, DrawnObject]],
                       ) -> bytes:
    """An ILSVRC DET ground-truth XML, byte for byte in the devkit's layout (tab indentation,
    bndbox order xmin, xmax, ymin, ymax, no XML declaration, final newline)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "ILSVRC2013_val"
    ET.SubElement(root, "filename").text = name
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "ILSVRC_2013"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)
    for wnid, box in objects:
        element = ET.SubElement(root, "object")
        ET.SubElement(element, "name").text = wnid
        bndbox = ET.SubElement(element, "bndbox")
        for tag in ("xmin", "xmax", "ymin", "ymax"):
            ET.SubElement(bndbox, tag).text = str(getattr(box, tag))
    ET.indent(root, space="\t")
    return (ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _mat_number(value: int) -> np.ndarray:
    # MATLAB stores these doubles compressed as the smallest unsigned type that holds them, and
    # scipy.io.loadmat returns that type (uint8 / uint16); written the same way, the mini loads alike.
    return np.array([[value]], dtype=np.uint8 if value < 256 else np.uint16)


def synsets_mat(records: Sequence[dict[str, object]]) -> bytes:
    """A MAT-file (v5, compressed) holding a 1xN struct array ``synsets`` with the records' fields
    in order; ints become MATLAB-style numbers, strings char arrays, arrays are kept as given."""
    fields = list(records[0])
    synsets = np.zeros((1, len(records)), dtype=[(field, object) for field in fields])
    for column, record in enumerate(records):
        synsets[0, column] = tuple(_mat_number(v) if isinstance(v, int) else v for v in record.values())
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"synsets": synsets}, do_compression=True)
    data = buffer.getvalue()
    return _MAT_HEADER_TEXT.ljust(_MAT_HEADER_BYTES, b" ") + data[_MAT_HEADER_BYTES:]


def cls_meta_mat(classes: Sequence[tuple[int, MiniClass]], num_train_images: int) -> bytes:
    """``meta.mat`` of the ILSVRC2012 devkit for (ILSVRC2012_ID, class) pairs: leaf synsets only,
    sorted by ID (``synsets(i).ILSVRC2012_ID == i``), fields as in the real file."""
    return synsets_mat([
        {"ILSVRC2012_ID": ilsvrc_id, "WNID": cls.wnid, "words": cls.words, "gloss": cls.looks,
         "num_children": 0, "children": np.zeros((1, 0), np.uint8), "wordnet_height": 0,
         "num_train_images": num_train_images}
        for ilsvrc_id, cls in sorted(classes, key=lambda pair: pair[0])])


def det_meta_mat(classes: Sequence[tuple[int, MiniClass]]) -> bytes:
    """``meta_det.mat`` of the ILSVRC2014 devkit for (DET ID, class) pairs, sorted by ID. The field is
    ``ILSVRC2013_DET_ID`` because the real 2014 file has that name (its readme says ILSVRC2014_DET_ID)."""
    return synsets_mat([
        {"ILSVRC2013_DET_ID": det_id, "WNID": cls.wnid, "name": cls.det_name, "description": cls.looks,
         "children": np.zeros((0, 0), np.uint8)}
        for det_id, cls in sorted(classes, key=lambda pair: pair[0])])
