"""Prepare datasets.

  repro data mini --out DIR [--seed S] [--classes K] [--train-per-class N] [--val-per-class N]
                  [--det-images N] [--jobs J]

`mini` writes the mini-ILSVRC: synthetic images in the real ILSVRC layouts (classification train/val
with the devkit's ground truth and meta.mat; detection images, XML, eval list, blacklist and
meta_det.mat under det/), deterministic from the seed, with the real data's odd files on purpose.
Its numbers are not comparable with the paper's; DIR/MINI_README.txt says what is inside.
"""
from __future__ import annotations

import argparse
import time

NAME = "data"
HELP = "prepare datasets (mini: generate the synthetic mini-ILSVRC in the real layouts)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``mini`` sub-command and its options."""
    from repro.commands._types import int_range, non_negative_int, output_dir, positive_int, seed
    from repro.data.mini.config import MiniConfig  # light: no image libraries

    defaults = MiniConfig()
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    mini = sub.add_parser("mini", help="generate the mini-ILSVRC into a new folder",
                          description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mini.add_argument("--out", required=True, type=output_dir, help="new or empty output folder")
    mini.add_argument("--seed", type=seed, default=defaults.seed, help="random seed (default %(default)s)")
    mini.add_argument("--classes", type=int_range(2, 20), default=defaults.classes,
                      help="number of classes, 2..20 (default %(default)s)")
    mini.add_argument("--train-per-class", type=positive_int, default=defaults.train_per_class,
                      help="training images per class (default %(default)s)")
    mini.add_argument("--val-per-class", type=positive_int, default=defaults.val_per_class,
                      help="validation images per class (default %(default)s)")
    mini.add_argument("--det-images", type=non_negative_int, default=defaults.det_images,
                      help="detection validation images (default %(default)s)")
    mini.add_argument("--jobs", type=positive_int, default=1,
                      help="processes drawing images; the output does not depend on it (default 1)")


def run(args: argparse.Namespace) -> int:
    """Generate the mini-ILSVRC and print where it went, its size and its content hash."""
    from repro.data.mini.config import MiniConfig
    from repro.data.mini.generate import generate

    config = MiniConfig(seed=args.seed, classes=args.classes, train_per_class=args.train_per_class,
                        val_per_class=args.val_per_class, det_images=args.det_images)
    start = time.perf_counter()
    record = generate(args.out, config, jobs=args.jobs)
    print(f"mini-ILSVRC v{record['generator_version']} written to {args.out}: "
          f"{len(record['files'])} files in {time.perf_counter() - start:.1f} s; "
          f"content sha256 {record['content_sha256']}")
    return 0
