"""Command-line options naming a classification dataset: an image root and its labels, any form.

Shared by `repro evaluate` and `repro audit`; `repro labels` builds and checks the same indices.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from repro.errors import ReproError

from repro.data.mini_layout import CLS_LAYOUT


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare --data / --images with one label source."""
    group = parser.add_argument_group("dataset (--data DIR, or --images DIR with one label source)")
    group.add_argument("--data", type=Path, metavar="DIR",
                       help=f"ILSVRC2012 root as extracted: DIR/{CLS_LAYOUT.val_dir}/, "
                            f"DIR/{CLS_LAYOUT.ground_truth}, DIR/{CLS_LAYOUT.meta} (the "
                            f"mini-ILSVRC writes the same layout)")
    group.add_argument("--images", type=Path, metavar="DIR", help="image root of the label source")
    labels = group.add_mutually_exclusive_group()
    labels.add_argument("--index", type=Path, metavar="CSV", help="canonical index from `repro labels`")
    labels.add_argument("--gt", type=Path, metavar="TXT", help="devkit ground truth (with --meta)")
    labels.add_argument("--caffe", type=Path, metavar="TXT", help="Caffe val.txt (with --meta/--synsets)")
    labels.add_argument("--folder", action="store_true", help="labels from --images/<wnid>/ folders")
    labels.add_argument("--unlabelled", action="store_true", help="every image under --images, no labels")
    group.add_argument("--meta", type=Path, metavar="MAT", help="devkit meta.mat")
    group.add_argument("--synsets", type=Path, metavar="FILE", help="sorted class list (synset_words.txt)")


def dataset_from_args(args: argparse.Namespace):
    """(LabelIndex, image root) from the parsed options."""
    from repro.data import cls_formats
    from repro.data.cls_classes import read_class_list, read_meta
    from repro.data.labels import LabelIndex

    if args.data:
        root = Path(args.data)
        missing = [p for p in CLS_LAYOUT.required() if not (root / p).exists()]
        if missing:
            raise ReproError(f"--data {root} is not an ILSVRC2012 root: {root / missing[0]} is missing "
                             f"(expected {', '.join(CLS_LAYOUT.required())}; `repro data mini --out "
                             f"DIR` writes this layout)")
        return (cls_formats.read_devkit(root / CLS_LAYOUT.ground_truth, read_meta(root / CLS_LAYOUT.meta)),
                root / CLS_LAYOUT.val_dir)
    if not args.images:
        raise ReproError("name the dataset: --data DIR, or --images DIR with --index/--gt/--caffe/"
                         "--folder/--unlabelled")
    images = Path(args.images)
    if not images.is_dir():
        raise ReproError(f"image directory {images} does not exist")
    if args.index:
        return LabelIndex.from_csv(args.index), images
    if args.gt:
        if not args.meta:
            raise ReproError("--gt needs --meta META.mat: the ground truth holds ILSVRC IDs")
        return cls_formats.read_devkit(args.gt, read_meta(args.meta)), images
    if args.caffe:
        classes = read_meta(args.meta).classes if args.meta else \
            read_class_list(args.synsets) if args.synsets else None
        if classes is None:
            raise ReproError("--caffe holds class indices: give --meta or --synsets to name them")
        return cls_formats.read_caffe(args.caffe, classes), images
    if args.folder:
        return cls_formats.read_folder(images, cls_formats.folder_classes(images)), images
    if args.unlabelled:
        return cls_formats.read_unlabelled(images), images
    raise ReproError("--images needs a label source: --index, --gt, --caffe, --folder or --unlabelled")
