"""The canonical classification label index: ``filename, wnid, class_index`` sorted by filename, hashed.

Whatever form the labels come in (devkit ground truth + meta.mat, Caffe ``val.txt``, Kaggle
``LOC_val_solution.csv``, a folder per synset, MXNet RecordIO, an unlabelled test folder; readers in
:mod:`repro.data.ilsvrc.formats` and :mod:`repro.data.ilsvrc.recordio`), one :class:`LabelIndex` comes out:

- ``filename`` is a relative POSIX path (a bare name for the flat forms, ``<wnid>/<name>`` for the
  folder form); names with ``..``, ``.``, empty components, backslashes or an absolute root are refused;
- ``class_index`` is the position of ``wnid`` in the sorted WNID list of the dataset's class space
  (:class:`repro.data.ilsvrc.classes.ClassList`), the order of Caffe, GluonCV, torchvision and timm;
- an unlabelled index (the test split) has ``wnid == ""`` and ``class_index == -1`` on every row;
- :attr:`LabelIndex.hash` is the SHA-256 of the canonical CSV bytes (UTF-8, ``\\n`` line ends, header
  exactly ``filename,wnid,class_index``, minimal CSV quoting), the dataset id that goes into manifests.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Iterable, Iterator

from repro.atomic import write_bytes
from repro.errors import LabelError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from repro.data.ilsvrc.classes import ClassList

CSV_HEADER = ("filename", "wnid", "class_index")
UNLABELLED = ("", -1)  # (wnid, class_index) of every row of an unlabelled (test-split) index

# ILSVRC2012 validation: 50,000 images, 50 per class, image i (1-based) named like this.
ILSVRC2012_VAL_FILENAME = "ILSVRC2012_val_{:08d}.JPEG"
ILSVRC2012_VAL_NAME = re.compile(r"ILSVRC2012_val_\d{8}\.JPEG")
ILSVRC2012_VAL_IMAGES = 50_000
ILSVRC2012_VAL_PER_CLASS = 50


def check_filename(name: str, where: str) -> str:
    """Return ``name`` if it is a safe relative POSIX path, else raise :class:`LabelError` at ``where``."""
    problem = None
    if not name:
        problem = "an empty file name"
    elif any(ch in name for ch in "\x00\n\r"):
        problem = f"file name {name!r} contains a NUL or line-break character"
    elif "\\" in name:
        problem = f"file name {name!r} contains a backslash; use '/' as the separator"
    elif name.startswith("/") or re.match(r"[A-Za-z]:", name):
        problem = f"file name {name!r} is an absolute path; label files must hold relative names"
    elif any(part in ("", ".", "..") for part in name.split("/")):
        problem = f"file name {name!r} has an empty, '.' or '..' component; refusing to leave the image root"
    if problem:
        raise LabelError(f"{where}: {problem}")
    return name


@dataclass(frozen=True)
class LabelIndex:
    """Rows ``(filename, wnid, class_index)`` sorted by filename; build with :meth:`from_rows`."""

    filenames: tuple[str, ...]
    wnids: tuple[str, ...]
    class_indices: tuple[int, ...]

    def __post_init__(self) -> None:
        if not len(self.filenames) == len(self.wnids) == len(self.class_indices):
            raise ValueError("LabelIndex columns differ in length")
        if not self.filenames:
            raise LabelError("the label index is empty: no images were found")
        for before, after in zip(self.filenames, self.filenames[1:]):
            if before >= after:
                raise LabelError(f"file {after!r} is duplicated or out of order in the label index")
        labelled = {(wnid, index) != UNLABELLED for wnid, index in zip(self.wnids, self.class_indices)}
        if len(labelled) > 1:
            raise LabelError("the label index mixes labelled and unlabelled rows")
        if labelled == {True} and (min(self.class_indices) < 0 or "" in self.wnids):
            raise LabelError("a labelled row has an empty WNID or a negative class index")

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, int]]) -> LabelIndex:
        """The index of ``(filename, wnid, class_index)`` rows in any order (sorted here)."""
        ordered = sorted(rows)
        return cls(tuple(r[0] for r in ordered), tuple(r[1] for r in ordered),
                   tuple(int(r[2]) for r in ordered))

    def __len__(self) -> int:
        return len(self.filenames)

    def rows(self) -> Iterator[tuple[str, str, int]]:
        """The rows in canonical (filename) order."""
        return zip(self.filenames, self.wnids, self.class_indices)

    @property
    def labelled(self) -> bool:
        """False for a test-split index, whose rows carry no label."""
        return (self.wnids[0], self.class_indices[0]) != UNLABELLED

    def class_counts(self) -> Counter[str]:
        """Images per WNID (empty for an unlabelled index)."""
        return Counter(self.wnids) if self.labelled else Counter()

    def csv_bytes(self) -> bytes:
        """The canonical CSV: UTF-8, ``\\n`` line ends, header ``filename,wnid,class_index``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(self.rows())
        return buffer.getvalue().encode("utf-8")

    @cached_property
    def hash(self) -> str:
        """SHA-256 (hex) of :meth:`csv_bytes`: equal indices have equal hashes, whatever their source."""
        return hashlib.sha256(self.csv_bytes()).hexdigest()

    def to_csv(self, path: str | Path) -> Path:
        """Atomically write the canonical CSV to ``path`` (its SHA-256 equals :attr:`hash`); return it."""
        return write_bytes(path, self.csv_bytes())

    @classmethod
    def from_csv(cls, path: str | Path, classes: ClassList | None = None) -> LabelIndex:
        """Read a CSV written by :meth:`to_csv`, checking header, names, order and label consistency;
        with ``classes``, every labelled row must name one of them at its sorted position."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LabelError(f"{path}: cannot read the label index: {exc}") from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if tuple(header or ()) != CSV_HEADER:
            raise LabelError(f"{path}:1: header must be exactly {','.join(CSV_HEADER)}, found {header}")
        rows, index_of_wnid, previous = [], {}, ""
        for fields in reader:
            where = f"{path}:{reader.line_num}"
            if len(fields) != 3:
                raise LabelError(f"{where}: expected 3 fields, found {len(fields)}")
            name, wnid, index_text = fields
            check_filename(name, where)
            if name <= previous:
                raise LabelError(f"{where}: {name!r} is duplicated or not in sorted order")
            try:
                class_index = int(index_text)
            except ValueError:
                raise LabelError(f"{where}: class_index {index_text!r} is not an integer") from None
            if classes is not None and (wnid, class_index) != UNLABELLED:
                _check_row_class(name, wnid, class_index, classes, where)
            if index_of_wnid.setdefault(wnid, class_index) != class_index:
                raise LabelError(f"{where}: {wnid} has class_index {class_index} here but "
                                 f"{index_of_wnid[wnid]} on an earlier line")
            rows.append((name, wnid, class_index))
            previous = name
        by_index = Counter(index_of_wnid.values())
        clash = [i for i, n in by_index.items() if n > 1]
        if clash:
            raise LabelError(f"{path}: class_index {clash[0]} is used by more than one WNID")
        return cls.from_rows(rows)

    def to_dataframe(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame with columns ``filename, wnid, class_index``."""
        import pandas as pd

        return pd.DataFrame({"filename": self.filenames, "wnid": self.wnids,
                             "class_index": self.class_indices})


def _check_row_class(name: str, wnid: str, class_index: int, classes: ClassList, where: str) -> None:
    if wnid not in classes:
        raise LabelError(f"{where}: {name}: WNID {wnid!r} (class_index {class_index}) is not one of "
                         f"the {len(classes)} classes of "
                         f"{classes.source}; pass --synsets or --meta with the index's class list, or "
                         f"rebuild the index with `repro labels`")
    position = classes.index_of(wnid, where)
    if position != class_index:
        raise LabelError(f"{where}: {name}: class_index {class_index} disagrees with its WNID {wnid}, "
                         f"which is class {position} of {classes.source}; rebuild the index with "
                         f"`repro labels` from its label source (or pass --synsets/--meta if it uses "
                         f"another class list)")


class IndexBuilder:
    """Collects rows from one label file, refusing unsafe names and duplicates with file and line."""

    def __init__(self) -> None:
        self._rows: list[tuple[str, str, int]] = []
        self._where_seen: dict[str, str] = {}

    def add(self, filename: str, wnid: str, class_index: int, where: str) -> None:
        """Add one row read at ``where`` (``file:line``)."""
        check_filename(filename, where)
        if filename in self._where_seen:
            raise LabelError(f"{where}: duplicate entry for {filename} "
                             f"(first at {self._where_seen[filename]})")
        self._where_seen[filename] = where
        self._rows.append((filename, wnid, class_index))

    def build(self) -> LabelIndex:
        """The sorted index of the rows added so far."""
        return LabelIndex.from_rows(self._rows)


def ilsvrc_expected_counts(index: LabelIndex, n_classes: int) -> tuple[int | None, int | None]:
    """``(images, per_class)`` that ``index`` must have when it is the full ILSVRC2012 validation set.

    That is the case when there are 1000 classes and every file name is ``ILSVRC2012_val_%08d.JPEG``
    (a bare name or under a synset folder); then 50,000 images and 50 per class are required, so a
    dropped or duplicated line cannot pass. Otherwise nothing is known: ``(None, None)``.
    """
    names_are_val = all(ILSVRC2012_VAL_NAME.fullmatch(PurePosixPath(f).name) for f in index.filenames)
    if index.labelled and n_classes == 1000 and names_are_val:
        return ILSVRC2012_VAL_IMAGES, ILSVRC2012_VAL_PER_CLASS
    return None, None


def check_index(index: LabelIndex, classes: ClassList, *, expected_classes: int | None = 1000,
                expected_images: int | None = None, per_class: int | None = None) -> None:
    """Raise :class:`LabelError` unless ``index`` is consistent with ``classes`` and the expectations.

    ``expected_classes`` is the size of the class space (1000 for ILSVRC; K for a K-class subset such
    as a mini dataset; None to skip); ``expected_images`` and ``per_class`` are exact counts (None to
    skip). Every labelled row must carry a WNID of ``classes`` at its sorted position.
    """
    if expected_classes is not None and len(classes) != expected_classes:
        raise LabelError(f"{classes.source}: {len(classes)} classes, expected {expected_classes} "
                         f"(for a K-class subset pass the number of classes it has)")
    if expected_images is not None and len(index) != expected_images:
        raise LabelError(f"the index has {len(index)} images, expected {expected_images}: "
                         f"entries are missing or extra (declare a deliberate subset with "
                         f"repro labels --subset, or keep the images present in a folder with "
                         f"--keep-present DIR)")
    for filename, wnid, class_index in index.rows() if index.labelled else ():
        position = classes.index_of(wnid, where=filename)
        if position != class_index:
            raise LabelError(f"{filename}: class_index {class_index} is not the sorted position "
                             f"{position} of {wnid} in {classes.source}")
    if per_class is not None:
        counts = index.class_counts()
        wrong = [(wnid, counts.get(wnid, 0)) for wnid in classes.wnids if counts.get(wnid, 0) != per_class]
        if wrong:
            shown = ", ".join(f"{wnid}: {n}" for wnid, n in wrong[:5])
            raise LabelError(f"{len(wrong)} classes do not have {per_class} images each ({shown}"
                             f"{', ...' if len(wrong) > 5 else ''})")
