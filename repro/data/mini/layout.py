"""Where the mini-ILSVRC puts its files: the real classification layout at the root, the real
detection layout under ``det/``."""
from __future__ import annotations

from repro.data.ilsvrc.layout import DET_LAYOUT

MINI_DET_LAYOUT = DET_LAYOUT.under("det")
