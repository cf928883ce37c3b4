"""One resolver from a named label source to the canonical index: `repro labels`, `repro evaluate`
and `repro audit` read labels through it, so every form is read, checked and refused the same way.

A :class:`LabelSource` is one form (``data`` root, canonical ``index`` CSV, devkit ``gt``, Caffe
``caffe``, Kaggle ``kaggle``, ``folder`` per synset, MXNet ``rec``, ``unlabelled`` test folder) with
its path and the class list that names its indices (``meta`` or ``synsets``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repro.data.ilsvrc.classes import ClassList, read_class_list, read_meta
from repro.data.ilsvrc.labels import LabelIndex
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.errors import ReproError

FORMS = ("data", "index", "gt", "caffe", "kaggle", "folder", "rec", "unlabelled")


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


def resolve_labels(source: LabelSource) -> tuple[LabelIndex, ClassList | None]:
    """The canonical index of ``source`` and its class space (None when the form carries none:
    an unlabelled split, or a canonical index CSV)."""
    from repro.data.ilsvrc import formats

    if source.form == "data":
        check_data_root(source.path)
        meta = read_meta(source.path / CLS_LAYOUT.meta)
        return formats.read_devkit(source.path / CLS_LAYOUT.ground_truth, meta), meta.classes
    if source.form == "index":
        return LabelIndex.from_csv(source.path), None
    meta = read_meta(source.meta) if source.meta else None
    classes = meta.classes if meta else read_class_list(source.synsets) if source.synsets else None
    if source.form == "gt":
        if meta is None:
            raise ReproError("--gt needs --meta META.mat: the ground truth holds ILSVRC IDs, "
                             "not class indices")
        pattern = {"name_pattern": source.name_pattern} if source.name_pattern else {}
        return formats.read_devkit(source.path, meta, **pattern), classes
    if source.form in ("caffe", "rec"):
        if classes is None:
            raise ReproError(f"--{source.form} holds class indices: give --meta or --synsets to name them")
        if source.form == "caffe":
            return formats.read_caffe(source.path, classes), classes
        from repro.data.ilsvrc.recordio import read_recordio

        return read_recordio(source.path, classes, idx=source.idx, lst=source.lst), classes
    if source.form == "kaggle":
        index = formats.read_kaggle(source.path, classes)
        return index, ClassList.from_wnids(index.wnids, str(source.path)) if classes is None else classes
    if source.form == "folder":
        classes = formats.folder_classes(source.path) if classes is None else classes
        return formats.read_folder(source.path, classes), classes
    return formats.read_unlabelled(source.path), None


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
                out: Path | None = None) -> CheckedIndex:
    """Read ``source``, check it (the class space has ``expected_classes`` classes; a full ILSVRC2012
    val set has 50,000 images, 50 per class, unless ``subset``; ``images`` / ``per_class`` set exact
    counts), summarise it and, with ``out``, write the canonical CSV there."""
    from repro.data.ilsvrc.labels import check_index, ilsvrc_expected_counts

    index, classes = resolve_labels(source)
    lines = [f"images:    {len(index)}"]
    if index.labelled:
        if classes is None:
            raise ReproError(f"{source.path}: a canonical index names its classes by WNID only; "
                             f"rebuild it from its label source to check it")
        known_images, known_per_class = (None, None) if subset else ilsvrc_expected_counts(index, len(classes))
        check_index(index, classes, expected_classes=expected_classes,
                    expected_images=images if images is not None else known_images,
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
