"""One resolver from a named label source to the canonical index: `repro labels`, `repro evaluate`
and `repro audit` read labels through it, so every form is read, checked and refused the same way.

A :class:`LabelSource` is one form (``data`` root, canonical ``index`` CSV, devkit ``gt``, Caffe
``caffe``, Kaggle ``kaggle``, ``folder`` per synset, ``wnid-prefix`` (one folder of
``<wnid>_<name>.JPEG`` files, e.g. one sample per class), MXNet ``rec``, ``unlabelled`` test folder) with
its path and the class list that names its indices (``meta`` or ``synsets``; by default the full
ILSVRC2012 list, :func:`repro.data.ilsvrc.classes.ilsvrc2012_classes`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.data.ilsvrc.classes import ClassList, DevkitMeta, ilsvrc2012_classes, read_class_list, read_meta
from repro.data.ilsvrc.labels import LabelIndex
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.errors import LabelError, ReproError

FORMS = ("data", "index", "gt", "caffe", "kaggle", "folder", "wnid-prefix", "rec", "unlabelled")


@dataclass(frozen=True)
class LabelSource:
    """A label form and its files, as the command line names them."""

    form: str  # one of FORMS
    path: Path  # the file or folder of that form (for ``data``: the dataset root)
    meta: Path | None = None
    synsets: Path | None = None
    lst: Path | None = None  # with ``rec``: the im2rec .lst giving file names
    idx: Path | None = None  # with ``rec``: the .idx (default: beside the .rec)
    name_pattern: str | None = None  # with ``gt``: file name of line i

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ReproError(f"unknown label form {self.form!r}; use one of {', '.join(FORMS)}")
        if (self.lst or self.idx) and self.form != "rec":
            raise ReproError("--lst and --idx go with --rec")


def check_data_root(root: Path) -> None:
    """Refuse a ``--data`` root without the ILSVRC2012 layout, naming the first missing path."""
    missing = [p for p in CLS_LAYOUT.required() if not (root / p).exists()]
    if missing:
        raise ReproError(f"--data {root} is not an ILSVRC2012 root: {root / missing[0]} is missing "
                         f"(expected {', '.join(CLS_LAYOUT.required())}; `repro data mini --out "
                         f"DIR` writes this layout)")


def class_space(source: LabelSource) -> tuple[ClassList, DevkitMeta | None]:
    """The class list naming ``source``'s class indices: ``--meta``, ``--synsets``, or by default the
    full ILSVRC2012 list (never the classes a partial folder or file happens to hold)."""
    meta = read_meta(source.meta) if source.meta else None
    if meta is not None:
        return meta.classes, meta
    return (read_class_list(source.synsets) if source.synsets else ilsvrc2012_classes()), None


def resolve_labels(source: LabelSource) -> tuple[LabelIndex, ClassList | None]:
    """The canonical index of ``source`` and its class space (None for an unlabelled split).

    Class indices always come from a full class list (:func:`class_space`); an index CSV is checked
    row by row against it, naming the first bad line."""
    from repro.data.ilsvrc import formats

    if source.form == "data":
        check_data_root(source.path)
        meta = read_meta(source.path / CLS_LAYOUT.meta)
        return formats.read_devkit(source.path / CLS_LAYOUT.ground_truth, meta), meta.classes
    if source.form == "unlabelled":
        return formats.read_unlabelled(source.path), None
    classes, meta = class_space(source)
    if source.form == "index":
        index = LabelIndex.from_csv(source.path, classes)
        return index, classes if index.labelled else None
    if source.form == "gt":
        if meta is None:
            raise ReproError("--gt needs --meta META.mat: the ground truth holds ILSVRC IDs, "
                             "not class indices")
        pattern = {"name_pattern": source.name_pattern} if source.name_pattern else {}
        return formats.read_devkit(source.path, meta, **pattern), classes
    if source.form == "caffe":
        return formats.read_caffe(source.path, classes), classes
    if source.form == "rec":
        from repro.data.ilsvrc.recordio import read_recordio

        return read_recordio(source.path, classes, idx=source.idx, lst=source.lst), classes
    if source.form == "kaggle":
        return formats.read_kaggle(source.path, classes), classes
    if source.form == "wnid-prefix":
        return formats.read_wnid_prefix(source.path, classes), classes
    return formats.read_folder(source.path, classes), classes


def missing_images(index: LabelIndex, root: Path) -> list[str]:
    """File names of ``index`` with no file under ``root``, in index order."""
    return [name for name in index.filenames if not (root / name).is_file()]


def keep_present(index: LabelIndex, root: Path) -> LabelIndex:
    """The rows of ``index`` whose image file exists under ``root`` (a subset); an error if none."""
    if not root.is_dir():
        raise ReproError(f"{root}: no such image directory")
    absent = set(missing_images(index, root))
    if len(absent) == len(index):
        raise ReproError(f"none of the {len(index)} images of the index is under {root} (first: "
                         f"{index.filenames[0]}); is it the folder the file names are relative to?")
    return LabelIndex.from_rows(row for row in index.rows() if row[0] not in absent)


def _labels_command(source: LabelSource) -> str:
    """The `repro labels` options that read ``source`` again."""
    if source.form == "data":
        return (f"--gt {source.path / CLS_LAYOUT.ground_truth} --meta {source.path / CLS_LAYOUT.meta}")
    classes = (f" --meta {source.meta}" if source.meta else "") + \
        (f" --synsets {source.synsets}" if source.synsets else "")
    return f"--{source.form} {source.path}{classes}"


def require_images(source: LabelSource, index: LabelIndex, root: Path) -> None:
    """Refuse, before any work, an index some of whose images are not under ``root``: say how
    many, the first few, and how to evaluate the present subset."""
    absent = missing_images(index, root)
    if absent:
        shown = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
        raise ReproError(
            f"{len(absent)} of the {len(index)} images of {source.path} are missing under {root} "
            f"({shown}); to evaluate the {len(index) - len(absent)} present, build their index with "
            f"`repro labels {_labels_command(source)} --keep-present {root} --out present.csv` and "
            f"pass --index present.csv --images {root}")


def image_root(source: LabelSource, images: Path | None) -> Path:
    """Where the images of ``source`` lie: ``--images``, or the val folder of a ``--data`` root."""
    if source.form == "data":
        return source.path / CLS_LAYOUT.val_dir
    if images is None:
        raise ReproError(f"--{source.form} needs --images DIR: the folder its file names are relative to")
    if not images.is_dir():
        raise ReproError(f"image directory {images} does not exist")
    return images


@dataclass(frozen=True)
class CheckedIndex:
    """An index read from a label source and checked, with the summary lines `repro labels` prints."""

    index: LabelIndex
    classes: ClassList | None
    lines: tuple[str, ...]
    written: Path | None = None


def build_index(source: LabelSource, expected_classes: int = 1000, subset: bool = False,
                images: int | None = None, per_class: int | None = None,
                out: Path | None = None, present_in: Path | None = None) -> CheckedIndex:
    """Read ``source``, check it (the class space has ``expected_classes`` classes; a full ILSVRC2012
    val set has 50,000 images, 50 per class, unless ``subset``; ``images`` / ``per_class`` set exact
    counts), summarise it and, with ``out``, write the canonical CSV there. With ``present_in``,
    keep only the entries whose image is under that folder (a subset)."""
    from repro.data.ilsvrc.labels import check_index, ilsvrc_expected_counts

    index, classes = resolve_labels(source)
    lines = []
    if present_in is not None:
        listed = len(index)
        index, subset = keep_present(index, present_in), True
        lines.append(f"kept:      {len(index)} of {listed} entries, those whose image is under {present_in}")
    lines.append(f"images:    {len(index)}")
    if index.labelled:
        known_images, known_per_class = (None, None) if subset else ilsvrc_expected_counts(index, len(classes))
        if images is not None and len(index) != images:
            raise LabelError(f"{source.path}: {len(index)} entries, but --images says {images}; to keep "
                             f"only the entries whose image is in a folder, pass --keep-present DIR")
        check_index(index, classes, expected_classes=expected_classes,
                    expected_images=None if images is not None else known_images,
                    per_class=per_class if per_class is not None else known_per_class)
        counts = index.class_counts()
        in_class = [counts.get(wnid, 0) for wnid in classes.wnids]
        lines += [f"classes:   {len(classes)} in the class space ({classes.source}), {len(counts)} present",
                  f"per class: {min(in_class)}..{max(in_class)} images"]
    else:
        lines.append("labels:    none (unlabelled split: wnid empty, class_index -1)")
    lines.append(f"hash:      sha256:{index.hash}")
    written = index.to_csv(out) if out else None
    if written:
        lines.append(f"wrote:     {written}")
    return CheckedIndex(index, classes, tuple(lines), written)
