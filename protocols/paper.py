"""The paper's Tables 1-5 as data, with a note for each of its known inconsistencies.

Source: Szegedy et al., "Going deeper with convolutions", arXiv:1409.4842 (2014), as transcribed in
the project's specification (shared/PAPER.md). Every table the harness prints takes the paper's
values from here. Printed values are kept as printed (e.g. 2.7K -> 2700); ``None`` = not printed.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

CITATION = 'Szegedy et al., "Going deeper with convolutions", arXiv:1409.4842 (2014)'


@dataclass(frozen=True)
class Table1Row:
    """One printed row of Table 1 (architecture)."""

    layer: str
    patch_stride: str
    output: str
    n1x1: int | None = None
    n3x3_reduce: int | None = None
    n3x3: int | None = None
    n5x5_reduce: int | None = None
    n5x5: int | None = None
    pool_proj: int | None = None
    params: int | None = None
    ops: int | None = None


K, M = 1_000, 1_000_000
TABLE1 = (
    Table1Row("conv1", "7x7/2", "112x112x64", params=int(2.7 * K), ops=34 * M),
    Table1Row("max pool", "3x3/2", "56x56x64"),
    Table1Row("conv2", "3x3/1", "56x56x192", n3x3_reduce=64, n3x3=192, params=112 * K, ops=360 * M),
    Table1Row("max pool", "3x3/2", "28x28x192"),
    Table1Row("inception 3a", "", "28x28x256", 64, 96, 128, 16, 32, 32, 159 * K, 128 * M),
    Table1Row("inception 3b", "", "28x28x480", 128, 128, 192, 32, 96, 64, 380 * K, 304 * M),
    Table1Row("max pool", "3x3/2", "14x14x480"),
    Table1Row("inception 4a", "", "14x14x512", 192, 96, 208, 16, 48, 64, 364 * K, 73 * M),
    Table1Row("inception 4b", "", "14x14x512", 160, 112, 224, 24, 64, 64, 437 * K, 88 * M),
    Table1Row("inception 4c", "", "14x14x512", 128, 128, 256, 24, 64, 64, 463 * K, 100 * M),
    Table1Row("inception 4d", "", "14x14x528", 112, 144, 288, 32, 64, 64, 580 * K, 119 * M),
    Table1Row("inception 4e", "", "14x14x832", 256, 160, 320, 32, 128, 128, 840 * K, 170 * M),
    Table1Row("max pool", "3x3/2", "7x7x832"),
    Table1Row("inception 5a", "", "7x7x832", 256, 160, 320, 32, 128, 128, 1072 * K, 54 * M),
    Table1Row("inception 5b", "", "7x7x1024", 384, 192, 384, 48, 128, 128, 1388 * K, 71 * M),
    Table1Row("avg pool", "7x7/1", "1x1x1024"),
    Table1Row("dropout 40%", "", "1x1x1024"),
    Table1Row("linear", "", "1x1x1000", params=1000 * K, ops=1 * M),
    Table1Row("softmax", "", "1x1x1000"),
)

#: The paper's own figures for the whole network.
TOTAL_PARAMS_COMPUTED = 6_998_552  # main branch incl. biases, computed from Table 1's widths
TOTAL_MACS_STATED = 1.5e9  # "about 1.5 billion multiply-adds" (text); widths give ~1.58G

#: Known inconsistencies of the printed Table 1, keyed by row label.
TABLE1_NOTES = {
    "conv1": "printed 2.7K/34M is what a 7x1 + 1x7 pair would cost; a 7x7x3x64 conv is 9.4K weights "
             "and 118M multiply-adds",
    "inception 4c": "printed 463K; its widths give ~498K weights",
    "inception 5a": "printed 1072K/54M; its widths give ~1018K weights and 51M multiply-adds",
    "linear": "printed 1000K counts weights only; with biases 1,025K (1024x1000 + 1000)",
}

#: Rows whose printed values disagree with the widths beyond rounding (flagged, never hidden).
TABLE1_INCONSISTENT = ("conv1", "inception 4c", "inception 5a")

TABLE2 = pd.DataFrame(
    [("SuperVision", 2012, "1st", 16.4, "no"), ("SuperVision", 2012, "1st", 15.3, "ImageNet 22k"),
     ("Clarifai", 2013, "1st", 11.7, "no"), ("Clarifai", 2013, "1st", 11.2, "ImageNet 22k"),
     ("MSRA", 2014, "3rd", 7.35, "no"), ("VGG", 2014, "2nd", 7.32, "no"),
     ("GoogLeNet", 2014, "1st", 6.67, "no")],
    columns=["team", "year", "place", "top5_err_pct", "external_data"])

TABLE3 = pd.DataFrame(
    [(1, 1, 1, 10.07, 0.0), (1, 10, 10, 9.15, -0.92), (1, 144, 144, 7.89, -2.18),
     (7, 1, 7, 8.09, -1.98), (7, 10, 70, 7.62, -2.45), (7, 144, 1008, 6.67, -3.45)],
    columns=["models", "crops", "cost", "top5_err_pct", "vs_base_pct"])

TABLE4 = pd.DataFrame(
    [("UvA-Euvision", 2013, "1st", 22.6, "none", "?", "Fisher vectors"),
     ("Deep Insight", 2014, "3rd", 40.5, "ImageNet 1k", "3", "CNN"),
     ("CUHK DeepID-Net", 2014, "2nd", 40.7, "ImageNet 1k", "?", "CNN"),
     ("GoogLeNet", 2014, "1st", 43.9, "ImageNet 1k", "6", "CNN")],
    columns=["team", "year", "place", "map_pct", "external_data", "ensemble", "approach"])

TABLE5 = pd.DataFrame(
    [("Trimps-Soushen", 31.6, "no", "?"), ("Berkeley Vision", 34.5, "no", "yes"),
     ("UvA-Euvision", 35.4, "?", "?"), ("CUHK DeepID-Net2", 37.7, "no", "?"),
     ("GoogLeNet", 38.02, "no", "no"), ("Deep Insight", 40.2, "yes", "yes")],
    columns=["team", "map_pct", "contextual_model", "bounding_box_regression"])

#: Where the paper is silent or inconsistent outside Table 1; printed beside the numbers they affect.
PROTOCOL_NOTES = {
    "10-crop": "the paper does not define its 10-crop protocol; this project uses scale 256, centre "
               "square, 4 corners + centre and their mirrors",
    "top-1": "Table 3 reports no top-1 error",
    "detection-single-model": "single-model detection mAP is 'about 40%' in the text but 38.02% in "
                              "Table 5; Table 5's value is used",
    "training-hyperparameters": "the paper gives no base learning rate, batch size, weight decay or "
                                "epoch count; values used are this project's own",
    "ensemble-init": "the 7 models share one initialisation (by the authors' oversight)",
}


def table1_frame() -> pd.DataFrame:
    """Table 1 as printed, one row per printed row (with the note where it is inconsistent)."""
    frame = pd.DataFrame([row.__dict__ for row in TABLE1])
    frame["note"] = frame["layer"].map(TABLE1_NOTES).fillna("")
    return frame
