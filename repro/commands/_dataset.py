"""Options naming a classification dataset (an image root and its labels, any form), shared by
`repro evaluate` and `repro audit`, turned into a :class:`~repro.data.label_sources.LabelSource`."""
from __future__ import annotations

import argparse

from repro.commands._types import existing_dir, existing_file
from repro.data.ilsvrc.layout import CLS_LAYOUT
from repro.errors import ReproError


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare --data / --images with one label source."""
    group = parser.add_argument_group("dataset (--data DIR, or --images DIR with one label source)")
    group.add_argument("--data", type=existing_dir, metavar="DIR",
                       help=f"ILSVRC2012 root as extracted: DIR/{CLS_LAYOUT.val_dir}/, "
                            f"DIR/{CLS_LAYOUT.ground_truth}, DIR/{CLS_LAYOUT.meta} (the "
                            f"mini-ILSVRC writes the same layout)")
    group.add_argument("--images", type=existing_dir, metavar="DIR", help="image root of the label source")
    labels = group.add_mutually_exclusive_group()
    labels.add_argument("--index", type=existing_file, metavar="CSV", help="canonical index from `repro labels`")
    labels.add_argument("--gt", type=existing_file, metavar="TXT", help="devkit ground truth (with --meta)")
    labels.add_argument("--caffe", type=existing_file, metavar="TXT", help="Caffe val.txt (with --meta/--synsets)")
    labels.add_argument("--folder", action="store_true", help="labels from --images/<wnid>/ folders")
    labels.add_argument("--wnid-prefix", action="store_true",
                        help="labels from the WNID each --images/<wnid>_<name>.JPEG file name starts with")
    labels.add_argument("--unlabelled", action="store_true", help="every image under --images, no labels")
    group.add_argument("--meta", type=existing_file, metavar="MAT",
                       help="devkit meta.mat (default class list: the 1000 ILSVRC2012 classes)")
    group.add_argument("--synsets", type=existing_file, metavar="FILE",
                       help="sorted class list, e.g. synset_words.txt (default: the 1000 ILSVRC2012 classes)")


def source_from_args(args: argparse.Namespace):
    """(LabelSource, image root or None) named by the options."""
    from repro.data.label_sources import LabelSource

    classes = {"meta": args.meta, "synsets": args.synsets}
    if args.data:
        return LabelSource("data", args.data), None
    if not args.images:
        raise ReproError("name the dataset: --data DIR, or --images DIR with --index/--gt/--caffe/"
                         "--folder/--wnid-prefix/--unlabelled")
    if args.index:
        return LabelSource("index", args.index, **classes), args.images
    if args.gt:
        return LabelSource("gt", args.gt, **classes), args.images
    if args.caffe:
        return LabelSource("caffe", args.caffe, **classes), args.images
    if args.folder:
        return LabelSource("folder", args.images, **classes), args.images
    if args.wnid_prefix:
        return LabelSource("wnid-prefix", args.images, **classes), args.images
    if args.unlabelled:
        return LabelSource("unlabelled", args.images), args.images
    raise ReproError("--images needs a label source: --index, --gt, --caffe, --folder, --wnid-prefix "
                     "or --unlabelled")
