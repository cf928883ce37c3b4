"""What a training run is, as declarative specs: sampling, schedule, averaging, recipe, ensemble plan.

- :class:`SamplingSpec` (registry :data:`SAMPLINGS`): how a training patch is drawn from an image
  (area and aspect-ratio ranges, photometric distortions, interpolations, mirror);
- :class:`Schedule`: SGD with momentum and a step decay of the learning rate, with a *compression*
  factor ``c`` so a short run follows the same curve: ``x decay_factor`` every ``decay_every_epochs / c``
  epochs, i.e. ``E`` epochs cover ``c * E`` epochs of the uncompressed schedule;
- :class:`PolyakSpec`: the weight averaging that gives the inference model;
- :class:`TrainRecipe` (registry :data:`RECIPES`): all of the above plus input size and width, and
  the :class:`Choice` list saying where the procedure fills a gap of the paper or departs from it;
- :class:`EnsemblePlan` (registry :data:`ENSEMBLES`): members trained from one initialisation seed,
  differing in sampling, data seed and width.

The paper's instances are registered by the protocol layer. Every spec has a ``version``,
bumped on any change of what training does with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from repro.engine.crops import INTERPOLATIONS
from repro.errors import ReproError
from repro.registry import Registry


@dataclass(frozen=True)
class Choice:
    """One point of the training procedure: what the paper says, what this project does."""

    topic: str
    paper: str
    project: str


@dataclass(frozen=True)
class Photometric:
    """Colour distortions: brightness, contrast and saturation each scale by ``1 + U(-s, s)`` and are
    applied in a random order; then AlexNet's PCA lighting noise with standard deviation
    ``lighting_std`` (on 0-255 pixel values, ImageNet eigenvectors)."""

    brightness: float
    contrast: float
    saturation: float
    lighting_std: float


@dataclass(frozen=True)
class SamplingSpec:
    """How one training patch is drawn from an image.

    A patch of area ``U(area) * image area`` and aspect ratio (width / height) ``U(aspect)`` is placed
    uniformly in the image (up to 10 draws; if none fits, the whole image is the patch), resized to
    the input size with an interpolation drawn uniformly from ``interpolations``, mirrored with
    probability 1/2 if ``mirror``, then colour-distorted if ``photometric`` is set.
    """

    id: str
    version: int
    area: tuple[float, float]
    aspect: tuple[float, float]
    interpolations: tuple[str, ...]
    photometric: Photometric | None
    mirror: bool
    note: str = ""

    def __post_init__(self) -> None:
        low, high = self.area
        if not 0 < low <= high <= 1:
            raise ReproError(f"sampling {self.id!r}: area range {self.area} must satisfy 0 < low <= high <= 1")
        if not 0 < self.aspect[0] <= self.aspect[1]:
            raise ReproError(f"sampling {self.id!r}: aspect range {self.aspect} must satisfy 0 < low <= high")
        unknown = [name for name in self.interpolations if name not in INTERPOLATIONS]
        if not self.interpolations or unknown:
            raise ReproError(f"sampling {self.id!r}: interpolations {self.interpolations} must be a "
                             f"non-empty subset of {tuple(INTERPOLATIONS)}")


SAMPLINGS: Registry[SamplingSpec] = Registry("sampling")


@dataclass(frozen=True)
class Schedule:
    """Optimiser and learning-rate policy: SGD, momentum, ``x decay_factor`` every ``decay_every_epochs
    / compression`` epochs (counted in updates, so it also holds for fractions of an epoch)."""

    base_lr: float
    batch_size: int  # per worker process
    weight_decay: float
    epochs: int
    momentum: float
    decay_factor: float
    decay_every_epochs: float
    compression: float = 1.0
    warmup_epochs: float = 0.0  # linear warm-up of the learning rate from 0 over these first epochs

    def __post_init__(self) -> None:
        if self.base_lr <= 0 or self.batch_size < 1 or self.epochs < 1 or self.compression <= 0:
            raise ReproError(f"schedule {self}: base_lr, batch_size, epochs and compression must be positive")
        if self.warmup_epochs < 0:
            raise ReproError(f"schedule {self}: warmup_epochs must be >= 0")

    @property
    def epochs_per_decay(self) -> float:
        """Epochs between two learning-rate decreases, after compression."""
        return self.decay_every_epochs / self.compression

    def describe(self) -> str:
        """One line stating the policy and its compression."""
        text = (f"SGD momentum {self.momentum:g}, base lr {self.base_lr:g}, batch {self.batch_size}, weight "
                f"decay {self.weight_decay:g}, {self.epochs} epochs; lr x{self.decay_factor:g} every "
                f"{self.epochs_per_decay:g} epochs")
        if self.warmup_epochs:
            text += f", after a linear warm-up from 0 over the first {self.warmup_epochs:g} epochs"
        if self.compression != 1:
            text += (f" (every {self.decay_every_epochs:g} epochs compressed x{self.compression:g}"
                     f": these {self.epochs} epochs follow {self.epochs * self.compression:g} epochs of "
                     f"the uncompressed schedule)")
        return text


@dataclass(frozen=True)
class PolyakSpec:
    """Polyak averaging as an exponential moving average of the weights, updated after every step.

    Time constant ``horizon_epochs`` (decay ``1 - 1 / (horizon_epochs * steps_per_epoch)``), with the
    warm-up of TensorFlow's ExponentialMovingAverage (decay ``min(d, (1 + t) / (10 + t))`` at step t) so
    the random initial weights fade quickly.
    """

    horizon_epochs: float

    def decay(self, steps_per_epoch: int) -> float:
        """Per-step decay for ``steps_per_epoch`` optimiser steps per epoch."""
        return 1.0 - 1.0 / max(1.0, self.horizon_epochs * steps_per_epoch)


@dataclass(frozen=True)
class TrainRecipe:
    """Everything that defines a training run except the data, the seeds and the sampling setting."""

    id: str
    version: int
    input_size: int
    width: float
    schedule: Schedule
    polyak: PolyakSpec
    aux_weight: float  # weight of each auxiliary classifier's loss
    sampling: str  # default sampling setting (a SAMPLINGS id)
    decode_short_side: int | None = None  # resize decoded training images so the shorter side is at most this
    cache_images: bool = False  # keep decoded training images in memory across epochs (small datasets)
    val_images: int | None = None  # validate on the first N images (sorted index order); None = all
    #: None: the classifier layers (main and auxiliary) keep the network's initialisation (Xavier);
    #: a number: their weights are drawn from N(0, std) (0: zeros) and their biases are zero.
    classifier_init_std: float | None = None
    note: str = ""
    choices: tuple[Choice, ...] = field(default=(), repr=False)  # where the paper is silent or departed from


RECIPES: Registry[TrainRecipe] = Registry("training recipe")


@dataclass(frozen=True)
class MemberSpec:
    """One member of an ensemble: its sampling setting, its data seed (image order, patches,
    dropout) and its width relative to the recipe's."""

    number: int
    sampling: str
    data_seed: int
    width_factor: float = 1.0

    def name(self, width: float) -> str:
        """Unique store key, e.g. ``member3-w0.25``."""
        return f"member{self.number}-w{width * self.width_factor:g}"


@dataclass(frozen=True)
class EnsemblePlan:
    """Members trained from one shared initialisation seed, and a note on why they differ as they do."""

    id: str
    version: int
    init_seed: int
    members: tuple[MemberSpec, ...]
    note: str = ""


ENSEMBLES: Registry[EnsemblePlan] = Registry("ensemble plan")
