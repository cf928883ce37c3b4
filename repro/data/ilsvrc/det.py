"""Readers for the ILSVRC2014 DET devkit files: ``meta_det.mat``, eval lists, XML ground truth, blacklist.

Layout (as in the devkit's ``data/`` folder and the DET bounding-box archives):

- ``meta_det.mat``: struct array ``synsets`` with fields ``ILSVRC2014_DET_ID`` (named
  ``ILSVRC2013_DET_ID`` in the file the devkit actually ships; both are accepted), ``WNID``, ``name``.
  ``synsets(i).<ID> == i``. The detection classes are the synsets with ID 1..200; the entries after
  them are hierarchy nodes. A meta with fewer than 200 synsets (a mini dataset) has one class per synset.
- eval list (``det_lists/val.txt``, ``ilsvrc13_val2.txt``, ``test.txt``): ``image_name image_index``
  lines; ``image_index`` is what a submission file names.
- ground truth: one ``<image_name>.xml`` per image, read by tag name: ``size/width``, ``size/height``
  and any number of ``object`` elements with ``name`` (a WNID) and ``bndbox/{xmin,ymin,xmax,ymax}``
  (0-based inclusive integer pixels). An image without objects is valid.
- blacklist (``ILSVRC2014_det_validation_blacklist.txt``): ``image_index WNID`` lines, indexed like
  ``det_lists/val.txt``.

Every reader raises :class:`~repro.errors.ReproError` naming the file (and line) at fault.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from repro.data.ilsvrc.labels import check_filename
from repro.errors import ReproError
from repro.progress import progress_bar

DET_CLASS_COUNT = 200
_ID_FIELDS = ("ILSVRC2014_DET_ID", "ILSVRC2013_DET_ID")
_BOX_TAGS = ("xmin", "ymin", "xmax", "ymax")

StrPath = str | os.PathLike


@dataclass(frozen=True)
class DetClass:
    """One detection class: its 1-based ILSVRC2014_DET_ID, WordNet id and readable name."""

    class_id: int
    wnid: str
    name: str


@dataclass(frozen=True)
class DetMeta:
    """The detection classes in ID order (``classes[i].class_id == i + 1``)."""

    classes: tuple[DetClass, ...]
    wnid_to_class: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for position, det_class in enumerate(self.classes, start=1):
            if det_class.class_id != position:
                raise ReproError(f"detection class {det_class.wnid} has id {det_class.class_id}, "
                                 f"expected {position} (classes must be in id order 1..N)")
        object.__setattr__(self, "wnid_to_class", {c.wnid: c.class_id for c in self.classes})
        if len(self.wnid_to_class) != len(self.classes):
            raise ReproError("detection classes repeat a WNID")

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class DetImageList:
    """An eval list: image names and their submission indexes, in file order."""

    names: tuple[str, ...]
    indexes: np.ndarray  # (n,) int64, unique, >= 1
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True, eq=False)
class ImageAnnotation:
    """The ground truth of one image; objects in XML order."""

    name: str
    width: int
    height: int
    wnids: tuple[str, ...]
    class_ids: np.ndarray  # (n,) int64, 1-based detection class ids
    boxes: np.ndarray      # (n, 4) int64 xmin, ymin, xmax, ymax; 0-based inclusive


@dataclass(frozen=True, eq=False)
class Blacklist:
    """(image index, class id) pairs whose detections are ignored and whose objects do not count."""

    image_indexes: np.ndarray  # (n,) int64
    class_ids: np.ndarray      # (n,) int64
    source: str = "<memory>"
    lines: np.ndarray | None = None  # (n,) 1-based line numbers in ``source``

    def __len__(self) -> int:
        return len(self.image_indexes)

    def describe(self, row: int) -> str:
        """Where entry ``row`` came from, for error messages."""
        return row_location(self.source, self.lines, row, "blacklist entry")


def row_location(source: str, lines: np.ndarray | None, row: int, what: str) -> str:
    """``"<file> line N"`` for a row read from a text file, else ``"<what> #k"`` (1-based)."""
    if lines is None:
        return f"{what} #{row + 1}"
    return f"{source} line {int(lines[row])}"


def _scalar(value: object) -> object:
    """The single element MATLAB wraps in 1x1 (or 1-element) arrays, or None when empty."""
    flat = np.asarray(value).ravel()
    return flat[0] if flat.size else None


def load_det_meta(path: StrPath) -> DetMeta:
    """The detection classes of a ``meta_det.mat`` (synsets with ID 1..200, or all of a smaller file)."""
    import scipy.io  # only needed here; keeps importing this module light

    try:
        synsets = scipy.io.loadmat(os.fspath(path))["synsets"].ravel()
    except (OSError, ValueError, KeyError, NotImplementedError) as exc:
        raise ReproError(f"{path}: cannot read a 'synsets' struct array from this .mat file ({exc})")
    names = synsets.dtype.names or ()
    id_field = next((f for f in _ID_FIELDS if f in names), None)
    if id_field is None or "WNID" not in names:
        raise ReproError(f"{path}: 'synsets' needs fields WNID and one of {', '.join(_ID_FIELDS)}; "
                         f"found {', '.join(names) or 'none'}")
    classes = []
    for position, synset in enumerate(synsets[:DET_CLASS_COUNT], start=1):
        det_id = _scalar(synset[id_field])
        if det_id is None or int(det_id) != position:
            raise ReproError(f"{path}: synsets({position}).{id_field} is {det_id}, expected {position} "
                             f"(the devkit requires synsets(i).{id_field} == i)")
        name = _scalar(synset["name"]) if "name" in names else None
        classes.append(DetClass(position, str(_scalar(synset["WNID"])), str(name or "")))
    return DetMeta(tuple(classes))


def _text_lines(path: StrPath) -> list[tuple[int, list[str]]]:
    """(1-based line number, fields) of every non-blank line of a text file."""
    try:
        with open(path, encoding="ascii") as handle:
            return [(number, line.split()) for number, line in enumerate(handle, start=1)
                    if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ReproError(f"{path}: cannot read this text file ({exc})")


def _positive_int(text: str, where: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ReproError(f"{where}: {what} {text!r} is not an integer") from None
    if value < 1:
        raise ReproError(f"{where}: {what} {value} must be >= 1")
    return value


def read_image_list(path: StrPath) -> DetImageList:
    """Read an eval list of ``image_name image_index`` lines; names and indexes must be unique."""
    names: list[str] = []
    indexes: list[int] = []
    first_line_of_index: dict[int, int] = {}
    first_line_of_name: dict[str, int] = {}
    for number, fields in _text_lines(path):
        where = f"{path} line {number}"
        if len(fields) != 2:
            raise ReproError(f"{where}: expected 'image_name image_index', got {len(fields)} fields")
        name, index = check_filename(fields[0], where), _positive_int(fields[1], where, "image index")
        if index in first_line_of_index:
            raise ReproError(f"{where}: image index {index} already used on line "
                             f"{first_line_of_index[index]}")
        if name in first_line_of_name:
            raise ReproError(f"{where}: image {name} already listed on line {first_line_of_name[name]}")
        first_line_of_index[index], first_line_of_name[name] = number, number
        names.append(name)
        indexes.append(index)
    return DetImageList(tuple(names), np.array(indexes, dtype=np.int64), os.fspath(path))


def _xml_int(element: ET.Element, tag: str, where: str) -> int:
    text = element.findtext(tag)
    if text is None:
        raise ReproError(f"{where}: missing <{tag}>")
    try:
        return int(text.strip())
    except ValueError:
        raise ReproError(f"{where}: <{tag}> is {text.strip()!r}, not an integer") from None


def read_annotation(path: StrPath, meta: DetMeta) -> ImageAnnotation:
    """Parse one ground-truth XML; every object must be a detection class with a box inside the image."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ReproError(f"{path}: cannot parse this XML file ({exc})")
    width = _xml_int(root, "size/width", os.fspath(path))
    height = _xml_int(root, "size/height", os.fspath(path))
    if width < 1 or height < 1:
        raise ReproError(f"{path}: image size {width}x{height} must be positive")
    wnids, class_ids, boxes = [], [], []
    for number, obj in enumerate(root.findall("object"), start=1):
        where = f"{path}: object {number}"
        wnid = (obj.findtext("name") or "").strip()
        if wnid not in meta.wnid_to_class:
            raise ReproError(f"{where}: <name> {wnid!r} is not one of the {meta.num_classes} "
                             f"detection WNIDs of the meta file")
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise ReproError(f"{where}: missing <bndbox>")
        xmin, ymin, xmax, ymax = (_xml_int(bndbox, tag, where) for tag in _BOX_TAGS)
        if xmax < xmin or ymax < ymin:
            raise ReproError(f"{where}: box ({xmin},{ymin},{xmax},{ymax}) has negative width or height "
                             f"(xmax < xmin or ymax < ymin)")
        if xmin < 0 or ymin < 0 or xmax >= width or ymax >= height:
            raise ReproError(f"{where}: box ({xmin},{ymin},{xmax},{ymax}) is outside the "
                             f"{width}x{height} image (0-based inclusive pixels)")
        wnids.append(wnid)
        class_ids.append(meta.wnid_to_class[wnid])
        boxes.append((xmin, ymin, xmax, ymax))
    return ImageAnnotation(Path(path).stem, width, height, tuple(wnids),
                           np.array(class_ids, dtype=np.int64),
                           np.array(boxes, dtype=np.int64).reshape(-1, 4))


def read_annotations(gt_dir: StrPath, image_list: DetImageList, meta: DetMeta,
                     progress: bool = False) -> list[ImageAnnotation]:
    """Parse ``<gt_dir>/<name>.xml`` for every image of ``image_list``, in list order."""
    annotations = []
    for name in progress_bar(progress, iterable=image_list.names, desc="ground-truth XMLs", unit="xml"):
        path = Path(gt_dir) / f"{name}.xml"
        if not path.is_file():
            raise ReproError(f"{path}: missing ground truth for image {name} of {image_list.source}")
        annotations.append(read_annotation(path, meta))
    return annotations


def read_blacklist(path: StrPath, meta: DetMeta) -> Blacklist:
    """Read ``image_index WNID`` lines; the WNIDs must be detection classes of ``meta``."""
    indexes, class_ids, lines = [], [], []
    for number, fields in _text_lines(path):
        where = f"{path} line {number}"
        if len(fields) != 2:
            raise ReproError(f"{where}: expected 'image_index WNID', got {len(fields)} fields")
        indexes.append(_positive_int(fields[0], where, "image index"))
        if fields[1] not in meta.wnid_to_class:
            raise ReproError(f"{where}: {fields[1]!r} is not one of the {meta.num_classes} detection "
                             f"WNIDs of the meta file")
        class_ids.append(meta.wnid_to_class[fields[1]])
        lines.append(number)
    return Blacklist(np.array(indexes, dtype=np.int64), np.array(class_ids, dtype=np.int64),
                     os.fspath(path), np.array(lines, dtype=np.int64))


def remap_blacklist(blacklist: Blacklist, indexed_by: DetImageList,
                    target: DetImageList) -> tuple[Blacklist, int]:
    """Re-index a blacklist written for ``indexed_by`` (e.g. val.txt) to ``target`` (e.g. val2) by
    image name; returns the remapped blacklist and how many entries name images not in ``target``."""
    name_of = dict(zip(indexed_by.indexes.tolist(), indexed_by.names))
    index_in_target = dict(zip(target.names, target.indexes.tolist()))
    keep, new_indexes = [], []
    for row, index in enumerate(blacklist.image_indexes.tolist()):
        if index not in name_of:
            raise ReproError(f"{blacklist.describe(row)}: image index {index} is not in "
                             f"{indexed_by.source}")
        if name_of[index] in index_in_target:
            keep.append(row)
            new_indexes.append(index_in_target[name_of[index]])
    lines = None if blacklist.lines is None else blacklist.lines[keep]
    remapped = Blacklist(np.array(new_indexes, dtype=np.int64), blacklist.class_ids[keep],
                         blacklist.source, lines)
    return remapped, len(blacklist) - len(keep)

