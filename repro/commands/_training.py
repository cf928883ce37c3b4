"""Command-line options shared by `repro train` and `repro train-ensemble` (argparse only: no MXNet here)."""
from __future__ import annotations

import argparse

from repro.commands._types import existing_dir, output_dir, positive_float, positive_int, text


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Data, model, recipe and its overrides, output, threads, progress."""
    parser.add_argument("--data", type=existing_dir, required=True, metavar="DIR",
                        help="dataset root: DIR/train/<wnid>/*.JPEG, DIR/val/, the devkit ground truth and "
                             "meta.mat (the layout `repro data mini` writes)")
    parser.add_argument("--out", type=output_dir, required=True, metavar="DIR",
                        help="output folder (created; an unfinished run there is resumed)")
    parser.add_argument("--model", type=text, default="googlenet-paper", help="model spec id (default %(default)s)")
    parser.add_argument("--recipe", type=text, default="paper",
                        help="training recipe: paper (224 px, full width) or mini (the embedded run) "
                             "(default %(default)s)")
    overrides = parser.add_argument_group("recipe overrides (default: the recipe's value)")
    overrides.add_argument("--width", type=positive_float, help="channel width multiplier")
    overrides.add_argument("--epochs", type=positive_int, help="epochs")
    overrides.add_argument("--batch-size", type=positive_int, help="images per step and worker")
    overrides.add_argument("--lr", type=positive_float, help="base learning rate")
    overrides.add_argument("--input-size", type=positive_int, help="training patch side in pixels (>= 79 for googlenet-paper)")
    parser.add_argument("--threads", type=positive_int, default=2, help="decoding/augmentation threads (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
