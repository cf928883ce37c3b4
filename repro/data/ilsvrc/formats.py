"""Readers of the text and folder forms of ILSVRC classification labels into a :class:`LabelIndex`.

- devkit: ground-truth txt, line i = ILSVRC ID (1-based, mapped through meta.mat) of image i;
- Caffe ``val.txt``: ``filename index`` (index = 0-based position in the sorted WNID list);
- Kaggle ``LOC_val_solution.csv``: ``ImageId,PredictionString``, first token = WNID;
- folder per synset: ``root/<wnid>/**/*.JPEG`` (filename = path relative to root);
- WNID prefix: ``root/**/<wnid>_<anything>.JPEG``, the class named by each file name (one folder of
  class samples, e.g. ``n01440764_tench.JPEG``);
- unlabelled folder (test split): every image under root, ``wnid == ""`` and ``class_index == -1``.

Image files are those with the extensions MXNet's im2rec lists by default (.jpeg .jpg .png, any
case); other files are not images and are not listed. Line numbers in errors are 1-based.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from repro.data.ilsvrc.classes import WNID, ClassList, DevkitMeta
from repro.data.ilsvrc.labels import ILSVRC2012_VAL_FILENAME, UNLABELLED, IndexBuilder, LabelIndex
from repro.errors import LabelError

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")
KAGGLE_HEADER = ["ImageId", "PredictionString"]


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read the label file: {exc}") from exc


def _integer(text: str, what: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise LabelError(f"{where}: {what} {text!r} is not an integer") from None


def read_devkit(ground_truth: str | Path, meta: DevkitMeta,
                name_pattern: str = ILSVRC2012_VAL_FILENAME) -> LabelIndex:
    """Devkit ground truth: line i holds the ILSVRC ID of ``name_pattern.format(i)``."""
    ground_truth = Path(ground_truth)
    classes, builder = meta.classes, IndexBuilder()
    for line_number, line in enumerate(_lines(ground_truth), start=1):
        where = f"{ground_truth}:{line_number}"
        if not line.strip():
            raise LabelError(f"{where}: missing entry (empty line) for {name_pattern.format(line_number)}")
        wnid = meta.wnid_of(_integer(line.strip(), "ILSVRC ID", where), where)
        builder.add(name_pattern.format(line_number), wnid, classes.index_of(wnid, where), where)
    return builder.build()


def read_caffe(val_txt: str | Path, classes: ClassList) -> LabelIndex:
    """Caffe ``val.txt``: ``filename index`` per line, the label after the last blank (as Caffe reads)."""
    val_txt = Path(val_txt)
    builder = IndexBuilder()
    for line_number, line in enumerate(_lines(val_txt), start=1):
        where = f"{val_txt}:{line_number}"
        fields = line.rsplit(maxsplit=1)
        if len(fields) != 2:
            raise LabelError(f"{where}: expected 'filename class_index', found {line!r}")
        class_index = _integer(fields[1], "class index", where)
        builder.add(fields[0].strip(), classes.wnid_at(class_index, where), class_index, where)
    return builder.build()


def read_kaggle(solution_csv: str | Path, classes: ClassList | None = None,
                extension: str = ".JPEG") -> LabelIndex:
    """Kaggle ``LOC_val_solution.csv``; filename = ImageId + ``extension``.

    Without ``classes`` the class space is the sorted set of WNIDs in the file.
    """
    solution_csv = Path(solution_csv)
    reader = csv.reader(_lines(solution_csv))
    if next(reader, None) != KAGGLE_HEADER:
        raise LabelError(f"{solution_csv}:1: header must be {','.join(KAGGLE_HEADER)}")
    entries = []
    for fields in reader:
        where = f"{solution_csv}:{reader.line_num}"
        if len(fields) != 2 or not fields[1].split():
            raise LabelError(f"{where}: expected 'ImageId,WNID ...', found {','.join(fields)!r}")
        entries.append((fields[0] + extension, fields[1].split()[0], where))
    if classes is None:
        classes = ClassList.from_wnids((wnid for _, wnid, _ in entries), str(solution_csv))
    builder = IndexBuilder()
    for filename, wnid, where in entries:
        builder.add(filename, wnid, classes.index_of(wnid, where), where)
    return builder.build()


def _image_files(directory: Path) -> list[str]:
    """Image files under ``directory`` (symlinks followed, like im2rec), relative POSIX paths, sorted."""
    found = []
    for folder, subfolders, files in os.walk(directory, followlinks=True):
        subfolders.sort()
        relative = Path(folder).relative_to(directory)
        found += [(relative / name).as_posix() for name in files
                  if name.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def _existing_folder(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise LabelError(f"{root}: not a directory")
    return root


def folder_classes(root: str | Path) -> ClassList:
    """The class space of a folder-per-synset tree: its sub-folder names (all must be WNIDs)."""
    root = _existing_folder(root)
    names = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    for name in names:
        if not WNID.fullmatch(name):
            raise LabelError(f"{root / name}: folder name is not a WNID; "
                             f"the folder form is root/<wnid>/*.JPEG")
    return ClassList.from_wnids(names, f"{root} (sub-folder names)")


def read_folder(root: str | Path, classes: ClassList | None = None) -> LabelIndex:
    """A folder per synset, ``root/<wnid>/...``; without ``classes`` the sub-folders are the classes."""
    root = _existing_folder(root)
    loose = [name for name in os.listdir(root)
             if name.lower().endswith(IMAGE_EXTENSIONS) and (root / name).is_file()]
    if loose:
        raise LabelError(f"{root / sorted(loose)[0]}: image outside a synset folder; the folder form is "
                         f"root/<wnid>/*.JPEG (an unlabelled test folder is read with --unlabelled)")
    found = folder_classes(root)
    classes = found if classes is None else classes
    builder = IndexBuilder()
    for wnid in found.wnids:
        class_index = classes.index_of(wnid, str(root / wnid))
        for relative in _image_files(root / wnid):
            filename = f"{wnid}/{relative}"
            builder.add(filename, wnid, class_index, str(root / filename))
    return builder.build()


def read_wnid_prefix(root: str | Path, classes: ClassList) -> LabelIndex:
    """Every image under ``root``, its class the WNID its file name starts with (``<wnid>_...``),
    its index that WNID's position in ``classes`` (the full class list, never the classes present)."""
    root = _existing_folder(root)
    builder = IndexBuilder()
    for filename in _image_files(root):
        where = str(root / filename)
        prefix = Path(filename).name.split("_", 1)[0]
        if not WNID.fullmatch(prefix):  # also a name without '_': its prefix keeps the extension
            raise LabelError(f"{where}: the file name does not start with a WNID and '_' (the "
                             f"wnid-prefix form names each image <wnid>_<anything>.JPEG, e.g. "
                             f"n01440764_tench.JPEG)")
        builder.add(filename, prefix, classes.index_of(prefix, where), where)
    return builder.build()


def read_unlabelled(root: str | Path) -> LabelIndex:
    """Every image under ``root`` (the test split): wnid ``""`` and class_index ``-1`` on every row."""
    root = _existing_folder(root)
    builder = IndexBuilder()
    for filename in _image_files(root):
        builder.add(filename, *UNLABELLED, str(root / filename))
    return builder.build()
