"""What the mini-ILSVRC generator makes: its parameters and version (light: no image libraries)."""
from __future__ import annotations

from dataclasses import dataclass

from repro.data.mini.classes import MINI_CLASSES
from repro.errors import ReproError

MINI_VERSION = 2  # bump on any change to what the generator writes for a given configuration
TRAIN_QUIRKS = ("cmyk", "png", "grayscale")
VAL_QUIRKS = ("cmyk", "png", "grayscale", "grayscale", "grayscale", "exif-rotated")


@dataclass(frozen=True)
class MiniConfig:
    """What to generate. The defaults make 2000 training, 500 validation and 50 detection images.

    Sized for `nox -s reproduce` within 15 minutes on a 2-core machine (this project's choice): the
    7 members x 144 crops take 0.38 s per validation image there in `nox -s reproduce` (2 AMD EPYC
    cores; 0.65 s on 2 Intel Xeon cores), so the ~2,000 images that would resolve a 2-point top-5
    difference would take ~13 minutes alone (~22 on the Xeon); 500 take 3.2 (5.4). The detection run
    scores ~3,100 regions per DET image. A larger set is for runs with more time (``--val-per-class``,
    ``--det-images``)."""
    seed: int = 0
    classes: int = 10
    train_per_class: int = 200
    val_per_class: int = 50
    det_images: int = 50

    def validate(self) -> None:
        """Raise :class:`ReproError` naming the parameter that cannot be generated."""
        if self.seed < 0:
            raise ReproError(f"--seed must be >= 0, got {self.seed}")
        if not 2 <= self.classes <= len(MINI_CLASSES):
            raise ReproError(f"--classes must be between 2 and {len(MINI_CLASSES)} (the embedded "
                             f"class table), got {self.classes}")
        if self.classes * self.train_per_class < len(TRAIN_QUIRKS):
            raise ReproError(f"--classes x --train-per-class must be >= {len(TRAIN_QUIRKS)} to hold "
                             f"the odd training files, got {self.classes * self.train_per_class}")
        if self.classes * self.val_per_class < len(VAL_QUIRKS):
            raise ReproError(f"--classes x --val-per-class must be >= {len(VAL_QUIRKS)} to hold "
                             f"the odd validation files, got {self.classes * self.val_per_class}")
        if self.det_images < 0:
            raise ReproError(f"--det-images must be >= 0, got {self.det_images}")
