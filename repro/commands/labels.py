"""Turn ILSVRC classification labels in any common form into the canonical, hashed label index.

The index is a CSV `filename,wnid,class_index` sorted by filename, class_index = position of the
WNID in the sorted WNID list (the order of Caffe, GluonCV, torchvision, timm). Its SHA-256 is the
dataset hash that manifests record. Checks: 1000 classes (--classes K for a K-class subset), every
WNID a class, no duplicate/unsafe names, and for the full ILSVRC2012 validation set 50,000 images
with 50 per class (--subset drops that; --images/--per-class set exact counts).

  repro labels --gt ILSVRC2012_validation_ground_truth.txt --meta meta.mat --out val.csv
  repro labels --caffe val.txt --synsets synset_words.txt
  repro labels --kaggle LOC_val_solution.csv --synsets synset_words.txt
  repro labels --folder /data/ILSVRC2012/val
  repro labels --wnid-prefix ../shared/data/imagenet-samples --images 1000 --per-class 1
  repro labels --rec val.rec --lst val.lst --meta meta.mat
  repro labels --unlabelled /data/ILSVRC2012/test      (wnid empty, class_index -1)
  repro labels --index val.csv --keep-present /data/some/val --out present.csv

Class indices always come from the full class list: --meta, --synsets, or by default the 1000
ILSVRC2012 classes (so a folder holding only some classes still gets their real indices). A
canonical index (--index) is checked row by row against it. --keep-present DIR keeps only the
entries whose image file is under DIR: the index of the images you have (a subset).
"""
from __future__ import annotations

import argparse

from repro.commands._types import existing_dir, existing_file, output_file, positive_int, text

NAME = "labels"
HELP = "build the canonical hashed label index (filename,wnid,class_index) from any label form"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    form = parser.add_mutually_exclusive_group(required=True)
    form.add_argument("--gt", type=existing_file, metavar="TXT", help="devkit ground truth (needs --meta)")
    form.add_argument("--caffe", type=existing_file, metavar="TXT", help="Caffe val.txt 'filename index'")
    form.add_argument("--kaggle", type=existing_file, metavar="CSV", help="Kaggle LOC_val_solution.csv")
    form.add_argument("--folder", type=existing_dir, metavar="DIR", help="folder per synset: DIR/<wnid>/*.JPEG")
    form.add_argument("--wnid-prefix", type=existing_dir, metavar="DIR",
                      help="one folder of DIR/<wnid>_<name>.JPEG: the class from each file name's WNID")
    form.add_argument("--rec", type=existing_file, metavar="REC", help="MXNet im2rec .rec (its .idx beside it)")
    form.add_argument("--unlabelled", type=existing_dir, metavar="DIR", help="test split: every image under DIR")
    form.add_argument("--index", type=existing_file, metavar="CSV",
                      help="a canonical index (e.g. to check it, or to cut it with --keep-present)")
    classes = parser.add_mutually_exclusive_group()
    classes.add_argument("--meta", type=existing_file, metavar="MAT", help="devkit meta.mat / meta_clsloc.mat")
    classes.add_argument("--synsets", type=existing_file, metavar="FILE",
                         help="sorted class list: synset_words.txt, labels.txt or imagenet_class_index.json")
    parser.add_argument("--lst", type=existing_file, metavar="LST", help="with --rec: im2rec .lst giving file names")
    parser.add_argument("--idx", type=existing_file, metavar="IDX",
                        help="with --rec: the .idx (default: beside the .rec)")
    parser.add_argument("--name-pattern", type=text, default=None, metavar="FMT",
                        help="with --gt: file name of line i (default ILSVRC2012_val_{:08d}.JPEG)")
    parser.add_argument("--classes", type=positive_int, default=1000, metavar="K",
                        help="size of the class space (default 1000; K for a K-class subset)")
    parser.add_argument("--subset", action="store_true",
                        help="a subset of ILSVRC2012 val: do not require its 50,000 images, 50 per class")
    parser.add_argument("--images", type=positive_int, metavar="N", help="exact number of images expected")
    parser.add_argument("--keep-present", type=existing_dir, metavar="DIR",
                        help="keep only the entries whose image file is under DIR (implies --subset)")
    parser.add_argument("--per-class", type=positive_int, metavar="N", help="exact number of images per class")
    parser.add_argument("--out", type=output_file, metavar="CSV", help="write the canonical index here")


def run(args: argparse.Namespace) -> int:
    """Read, check, summarise and (with --out) write the index."""
    from repro.data.label_sources import LabelSource, build_index

    form = next(name for name in ("gt", "caffe", "kaggle", "folder", "wnid-prefix", "rec", "unlabelled",
                                  "index") if getattr(args, name.replace("-", "_")) is not None)
    source = LabelSource(form, getattr(args, form.replace("-", "_")), meta=args.meta, synsets=args.synsets,
                         lst=args.lst, idx=args.idx, name_pattern=args.name_pattern)
    checked = build_index(source, expected_classes=args.classes, subset=args.subset, images=args.images,
                          per_class=args.per_class, out=args.out, present_in=args.keep_present)
    print("\n".join(checked.lines))
    return 0
