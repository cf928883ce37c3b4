"""The class space: the sorted WNIDs whose positions are the class indices, from a meta.mat or a list.

Sources: the devkit's ``meta.mat`` / ``meta_clsloc.mat`` (its low-level synsets), Caffe's
``synset_words.txt`` (``WNID name, name``), one-WNID-per-line lists (tfds ``labels.txt``, timm
``imagenet_synsets.txt``) and Keras ``imagenet_class_index.json`` (``{"i": [WNID, name]}``).
A list must already be in sorted order: the class indices of Caffe's ``val.txt`` are positions in
``synset_words.txt``, so a list in another order would silently relabel classes and is refused.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from repro.errors import LabelError

WNID = re.compile(r"n\d{8}")


@dataclass(frozen=True)
class ClassList:
    """A dataset's WNIDs in sorted order; a class index is a position in :attr:`wnids`."""

    wnids: tuple[str, ...]
    source: str  # where the list came from, for error messages

    def __post_init__(self) -> None:
        if not self.wnids:
            raise LabelError(f"{self.source}: no classes")
        for wnid in self.wnids:
            if not WNID.fullmatch(wnid):
                raise LabelError(f"{self.source}: {wnid!r} is not a WNID (n followed by 8 digits)")
        for before, after in zip(self.wnids, self.wnids[1:]):
            if before >= after:
                raise LabelError(f"{self.source}: WNID {after} is duplicated or out of sorted order")

    @classmethod
    def from_wnids(cls, wnids: Iterable[str], source: str) -> ClassList:
        """The class space made of these WNIDs (duplicates merged, sorted here)."""
        return cls(tuple(sorted(set(wnids))), source)

    def __len__(self) -> int:
        return len(self.wnids)

    def __contains__(self, wnid: object) -> bool:
        return wnid in self._positions

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {wnid: i for i, wnid in enumerate(self.wnids)}

    def index_of(self, wnid: str, where: str) -> int:
        """The class index of ``wnid``; :class:`LabelError` naming ``where`` if it is not a class."""
        try:
            return self._positions[wnid]
        except KeyError:
            raise LabelError(f"{where}: WNID {wnid!r} is not one of the {len(self)} classes of "
                             f"{self.source}") from None

    def wnid_at(self, class_index: int, where: str) -> str:
        """The WNID of ``class_index``; :class:`LabelError` naming ``where`` if it is out of range."""
        if not 0 <= class_index < len(self):
            raise LabelError(f"{where}: class index {class_index} is out of range 0..{len(self) - 1}")
        return self.wnids[class_index]


@dataclass(frozen=True)
class DevkitMeta:
    """The low-level synsets of a devkit meta.mat: ILSVRC ID (1-based, NOT a class index) -> WNID."""

    wnid_by_id: Mapping[int, str]
    source: str

    @property
    def classes(self) -> ClassList:
        """The class space: these synsets' WNIDs, sorted."""
        return ClassList.from_wnids(self.wnid_by_id.values(), self.source)

    def wnid_of(self, ilsvrc_id: int, where: str) -> str:
        """The WNID of an ILSVRC ID; :class:`LabelError` naming ``where`` if it is not a class."""
        try:
            return self.wnid_by_id[ilsvrc_id]
        except KeyError:
            raise LabelError(f"{where}: ILSVRC ID {ilsvrc_id} is not a low-level synset of "
                             f"{self.source}") from None


ILSVRC2012_SOURCE = "the 1000 ILSVRC2012 classes (GluonCV's ImageNet1kAttr)"


def ilsvrc2012_classes() -> ClassList:
    """The full ILSVRC2012 class space: the 1000 sorted WNIDs, as GluonCV ships them (no download;
    tests check it equals the low-level synsets of the devkit's meta_clsloc.mat). The default class
    list of every label form that names classes by WNID, so a folder or index holding only some
    classes still gets each class its index among all 1000."""
    from gluoncv.data.imagenet.classification import ImageNet1kAttr

    return ClassList(tuple(ImageNet1kAttr().synset), ILSVRC2012_SOURCE)


def read_meta(path: str | Path) -> DevkitMeta:
    """Read a devkit ``meta.mat`` (``synsets`` struct array, fields ``ILSVRC20xx_ID`` and ``WNID``).

    The classes are the synsets with ``num_children == 0`` (IDs 1..1000 in the ILSVRC devkits); a
    meta.mat without ``num_children`` (e.g. a generated K-class mini devkit) has only classes.
    """
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: no such file (the devkit's meta.mat, e.g. "
                         f"ILSVRC2012_devkit_t12/data/meta.mat)")
    try:
        mat = scipy.io.loadmat(path, squeeze_me=True)
    except Exception as exc:  # scipy raises IndexError, ValueError, MatReadError, ... for bad files
        raise LabelError(f"{path}: cannot read as a MATLAB devkit meta file: {exc}") from exc
    synsets = mat.get("synsets")
    fields = synsets.dtype.names if isinstance(synsets, np.ndarray) else None
    id_field = next((f for f in fields or () if re.fullmatch(r"ILSVRC\d{4}_ID", f)), None)
    if id_field is None or "WNID" not in fields:
        raise LabelError(f"{path}: no 'synsets' struct array with ILSVRC20xx_ID and WNID fields")
    wnid_by_id: dict[int, str] = {}
    for number, synset in enumerate(np.atleast_1d(synsets), start=1):
        if "num_children" in fields and int(synset["num_children"]) != 0:
            continue
        ilsvrc_id, wnid = int(synset[id_field]), str(synset["WNID"])
        if ilsvrc_id in wnid_by_id:
            raise LabelError(f"{path}: synset {number}: {id_field} {ilsvrc_id} appears twice")
        wnid_by_id[ilsvrc_id] = wnid
    ClassList.from_wnids(wnid_by_id.values(), str(path))  # validates the WNIDs
    if len(set(wnid_by_id.values())) != len(wnid_by_id):
        raise LabelError(f"{path}: a WNID belongs to two low-level synsets")
    return DevkitMeta(wnid_by_id, str(path))


def read_class_list(path: str | Path) -> ClassList:
    """The class space from a meta.mat, synset_words.txt / labels.txt, or imagenet_class_index.json."""
    path = Path(path)
    if path.suffix == ".mat":
        return read_meta(path).classes
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read the class list: {exc}") from exc
    if path.suffix == ".json":
        return _keras_class_list(text, path)
    wnids = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            raise LabelError(f"{path}:{line_number}: empty line in the class list")
        wnids.append(line.split()[0])
        if len(wnids) > 1 and wnids[-2] >= wnids[-1]:
            raise LabelError(f"{path}:{line_number}: {wnids[-1]} is duplicated or out of sorted order; "
                             f"class indices are positions in the sorted WNID list")
    return ClassList(tuple(wnids), str(path))


def _keras_class_list(text: str, path: Path) -> ClassList:
    try:
        table = json.loads(text)
        by_index = {int(key): value[0] for key, value in table.items()}
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise LabelError(f"{path}: not a Keras class index ({{\"0\": [WNID, name], ...}}): {exc}") from exc
    if sorted(by_index) != list(range(len(by_index))):
        raise LabelError(f"{path}: class indices must be 0..{len(by_index) - 1} without gaps")
    return ClassList(tuple(by_index[i] for i in range(len(by_index))), str(path))
