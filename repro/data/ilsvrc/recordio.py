"""Labels of an MXNet RecordIO pack (``.rec`` + ``.idx``) as written by MXNet's ``tools/im2rec.py``.

im2rec reads a ``.lst`` file, ``id<TAB>label<TAB>relative/path`` per line, and writes each image as
a record keyed by ``id`` in the ``.idx`` whose header carries ``label`` (a float class index) and
``id``; the path is not stored. So a record's file name is recovered from the ``.lst`` when one is
given, and is otherwise the record id as the ``.lst`` writes it (``str(id)``, e.g. ``"42"``); either
way the index is sorted by that name as a string. Labels are class indices in ``classes``.

im2rec ``--recursive`` numbers, in sorted walk order, every folder that holds an image: for a flat
``root/<wnid>/`` tree with no empty class folder that is the sorted WNID order, but an empty class
folder shifts every later label and a nested folder gets a label of its own. So when the ``.lst``
names a file ``<wnid>/...``, that WNID must be the one its label denotes.
"""
from __future__ import annotations

from pathlib import Path

from repro.data.ilsvrc.classes import WNID, ClassList
from repro.data.ilsvrc.labels import IndexBuilder, LabelIndex
from repro.errors import LabelError


def read_lst(path: str | Path) -> dict[int, tuple[float, str, str]]:
    """An im2rec ``.lst``: record id -> (label, relative path, ``file:line``)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read the .lst file: {exc}") from exc
    entries: dict[int, tuple[float, str, str]] = {}
    for line_number, line in enumerate(lines, start=1):
        where = f"{path}:{line_number}"
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) != 3:
            raise LabelError(f"{where}: expected 'id<TAB>label<TAB>path' (one label), found {line!r}")
        try:
            record_id, label = int(fields[0]), float(fields[1])
        except ValueError:
            raise LabelError(f"{where}: id {fields[0]!r} or label {fields[1]!r} is not a number") from None
        if record_id in entries:
            raise LabelError(f"{where}: record id {record_id} repeats {entries[record_id][2]}")
        entries[record_id] = (label, fields[2], where)
    return entries


def _class_index(label: object, where: str) -> int:
    import numpy as np

    values = np.atleast_1d(np.asarray(label, dtype=np.float64))
    if values.size != 1 or values[0] != int(values[0]):
        raise LabelError(f"{where}: label {label!r} is not a single integral class index")
    return int(values[0])


def read_recordio(rec: str | Path, classes: ClassList, *, idx: str | Path | None = None,
                  lst: str | Path | None = None) -> LabelIndex:
    """The label index of an im2rec ``.rec``/``.idx`` pair (``.idx`` defaults to the ``.rec``'s sibling).

    With ``lst``, file names come from it and every record's label must equal its ``.lst`` label, and
    every ``.lst`` entry must have a record (im2rec skips images it cannot read).
    """
    import mxnet as mx

    rec = Path(rec)
    idx = Path(idx) if idx else rec.with_suffix(".idx")
    for path in (rec, idx):
        if not path.is_file():
            raise LabelError(f"{path}: no such file (a RecordIO pack needs the .rec and its .idx)")
    listed = read_lst(lst) if lst else None
    builder = IndexBuilder()
    try:
        record = mx.recordio.MXIndexedRecordIO(str(idx), str(rec), "r")
    except (mx.base.MXNetError, ValueError) as exc:  # ValueError: a malformed .idx line
        raise LabelError(f"{rec}: cannot open the RecordIO pack with {idx}: {exc}") from exc
    try:
        for record_id in record.keys:
            where = f"{rec} record {record_id}"
            try:
                header, _ = mx.recordio.unpack(record.read_idx(record_id))
            except mx.base.MXNetError as exc:
                raise LabelError(f"{where}: cannot read the record: {exc}") from exc
            class_index = _class_index(header.label, where)
            filename = str(record_id)
            if listed is not None:
                if record_id not in listed:
                    raise LabelError(f"{where}: record id {record_id} is not in {lst}")
                lst_label, filename, lst_where = listed.pop(record_id)
                if lst_label != class_index:
                    raise LabelError(f"{where}: label {class_index} but {lst_where} says {lst_label:g}")
            wnid = classes.wnid_at(class_index, where)
            folder = filename.split("/")[0]
            if WNID.fullmatch(folder) and folder != wnid:
                raise LabelError(f"{where}: label {class_index} is {wnid}, but the file is {filename} "
                                 f"(im2rec numbers folders as it meets them: an empty or nested folder?)")
            builder.add(filename, wnid, class_index, where)
    finally:
        record.close()
    if listed:
        first_id = min(listed)
        raise LabelError(f"{listed[first_id][2]}: {len(listed)} .lst entries (first: id {first_id}, "
                         f"{listed[first_id][1]}) have no record in {rec}")
    return builder.build()
