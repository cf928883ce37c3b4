"""The paper's training procedure (Section 6) as declarative data: sampling, schedule, averaging, ensemble.

- :class:`SamplingSpec` (registry :data:`SAMPLINGS`): how a training patch is drawn from an image —
  the post-competition recipe (area uniform in 8%-100%, aspect ratio in [3/4, 4/3], photometric
  distortions, random interpolation, mirror) and the variants the members of an ensemble differ by.
- :class:`Schedule`: SGD with momentum 0.9 and the learning rate decreased by 4% every 8 epochs, with
  a *compression* factor ``c`` so a short run follows the same curve: 4% every ``8 / c`` epochs, i.e.
  ``E`` epochs here cover ``c * E`` epochs of the paper's schedule. Base rate, batch size, weight
  decay and epoch count are the paper's gaps, filled by each recipe and stated as this project's.
- :class:`PolyakSpec`: the weight averaging that gives the inference model.
- :class:`TrainRecipe` (registry :data:`RECIPES`): all of the above plus input size and width.
- :class:`EnsemblePlan` (registry :data:`ENSEMBLES`): the 7 members of Section 7 — same initial
  weights (the paper's oversight, reproduced on purpose), different sampling and image order, one wider.
- :data:`CHOICES`: every point where the paper is silent or where this project departs from it.

Every spec has a ``version``, bumped on any change of what training does with it.
"""
from __future__ import annotations

from dataclasses import dataclass

from protocols.multicrop import INTERPOLATIONS
from repro.errors import ReproError
from repro.registry import Registry

PAPER_AREA = (0.08, 1.0)
PAPER_ASPECT = (3 / 4, 4 / 3)
#: Section 6: "bilinear, area, nearest neighbor and cubic, with equal probability" (keys of
#: protocols.multicrop.INTERPOLATIONS; "bicubic" is OpenCV's INTER_CUBIC).
PAPER_INTERPOLATIONS = ("bilinear", "area", "nearest", "bicubic")
PAPER_MOMENTUM = 0.9
PAPER_DECAY_FACTOR = 0.96
PAPER_DECAY_EVERY_EPOCHS = 8.0
PAPER_AUX_WEIGHT = 0.3


@dataclass(frozen=True)
class Photometric:
    """Colour distortions "in the style of Andrew Howard" (the paper gives no values).

    Brightness, contrast and saturation each scale by ``1 + U(-s, s)`` and are applied in a random
    order; then AlexNet's PCA lighting noise with standard deviation ``lighting_std`` (on 0-255
    pixel values, ImageNet eigenvectors). The strengths are GluonCV's ImageNet training values.
    """

    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    lighting_std: float = 0.1


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
    area: tuple[float, float] = PAPER_AREA
    aspect: tuple[float, float] = PAPER_ASPECT
    interpolations: tuple[str, ...] = PAPER_INTERPOLATIONS
    photometric: Photometric | None = Photometric()
    mirror: bool = True
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

SAMPLINGS.register("paper", SamplingSpec(
    id="paper", version=1,
    note="Section 6's post-competition recipe: area 8%-100%, aspect 3/4-4/3, photometric distortions, "
         "random interpolation among bilinear/area/nearest/cubic, mirror."))
SAMPLINGS.register("small-crops", SamplingSpec(
    id="small-crops", version=1, area=(0.08, 0.5),
    note="Section 6: 'some of the models were mainly trained on smaller relative crops'; the 8%-50% "
         "range is this project's choice."))
SAMPLINGS.register("large-crops", SamplingSpec(
    id="large-crops", version=1, area=(0.35, 1.0),
    note="Section 6: '... others on larger ones, inspired by [Howard]'; the 35%-100% range is this "
         "project's choice."))
SAMPLINGS.register("no-photometric", SamplingSpec(
    id="no-photometric", version=1, photometric=None,
    note="The paper's geometry without colour distortions (the paper added them to 'combat "
         "overfitting to some extent')."))
SAMPLINGS.register("bilinear-only", SamplingSpec(
    id="bilinear-only", version=1, interpolations=("bilinear",),
    note="The paper's recipe before random interpolation, which it 'started to use relatively late'."))


@dataclass(frozen=True)
class Schedule:
    """Optimiser and learning-rate policy: SGD, momentum, ``x decay_factor`` every ``decay_every_epochs
    / compression`` epochs (counted in updates, so it also holds for fractions of an epoch)."""

    base_lr: float
    batch_size: int  # per worker process
    weight_decay: float
    epochs: int
    momentum: float = PAPER_MOMENTUM
    decay_factor: float = PAPER_DECAY_FACTOR
    decay_every_epochs: float = PAPER_DECAY_EVERY_EPOCHS
    compression: float = 1.0

    def __post_init__(self) -> None:
        if self.base_lr <= 0 or self.batch_size < 1 or self.epochs < 1 or self.compression <= 0:
            raise ReproError(f"schedule {self}: base_lr, batch_size, epochs and compression must be positive")

    @property
    def epochs_per_decay(self) -> float:
        """Epochs between two learning-rate decreases, after compression."""
        return self.decay_every_epochs / self.compression

    def describe(self) -> str:
        """One line stating the policy and its compression."""
        text = (f"SGD momentum {self.momentum:g}, base lr {self.base_lr:g}, batch {self.batch_size}, weight "
                f"decay {self.weight_decay:g}, {self.epochs} epochs; lr x{self.decay_factor:g} every "
                f"{self.epochs_per_decay:g} epochs")
        if self.compression != 1:
            text += (f" (the paper's every {self.decay_every_epochs:g} epochs compressed x{self.compression:g}"
                     f": these {self.epochs} epochs follow {self.epochs * self.compression:g} epochs of "
                     f"the paper's schedule)")
        return text


@dataclass(frozen=True)
class PolyakSpec:
    """Polyak averaging as an exponential moving average of the weights, updated after every step.

    Time constant ``horizon_epochs`` (decay ``1 - 1 / (horizon_epochs * steps_per_epoch)``), with the
    warm-up of TensorFlow's ExponentialMovingAverage (decay ``min(d, (1 + t) / (10 + t))`` at step t) so
    the random initial weights fade quickly. The paper only cites Polyak & Juditsky; the form is ours.
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
    aux_weight: float = PAPER_AUX_WEIGHT
    sampling: str = "paper"  # default sampling setting
    decode_short_side: int | None = None  # resize decoded training images so the shorter side is at most this
    cache_images: bool = False  # keep decoded training images in memory across epochs (small datasets)
    val_images: int | None = None  # validate on the first N images (sorted index order); None = all
    note: str = ""


RECIPES: Registry[TrainRecipe] = Registry("training recipe")

RECIPES.register("paper", TrainRecipe(
    id="paper", version=1, input_size=224, width=1.0,
    schedule=Schedule(base_lr=0.01, batch_size=32, weight_decay=2e-4, epochs=60),
    polyak=PolyakSpec(horizon_epochs=1.0), val_images=1000,
    note="Full-size GoogLeNet. Base lr, batch, weight decay: the BVLC Caffe replication's (the paper gives "
         "none); 60 epochs: BVLC's 2.4M iterations at batch 32; validation during training on the first "
         "1000 images only (the full evaluation is `repro evaluate`)."))

RECIPES.register("mini", TrainRecipe(
    id="mini", version=1, input_size=80, width=0.25,
    schedule=Schedule(base_lr=0.01, batch_size=32, weight_decay=1e-4, epochs=14, compression=8.0),
    polyak=PolyakSpec(horizon_epochs=0.5), decode_short_side=128, cache_images=True,
    note="The embedded reproduction on the mini-ILSVRC (2-core CPU, minutes): 80 px input, width 0.25, "
         "decoded images pre-shrunk to a shorter side of 128 and kept in memory; the schedule compressed "
         "x8 (lr -4% every epoch). All values are this project's choices."))


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
    """Members trained from one initialisation seed (shared, as in the paper) and a note on why."""

    id: str
    version: int
    init_seed: int
    members: tuple[MemberSpec, ...]
    note: str = ""


ENSEMBLES: Registry[EnsemblePlan] = Registry("ensemble plan")

ENSEMBLES.register("paper-7", EnsemblePlan(
    id="paper-7", version=1, init_seed=0,
    members=(MemberSpec(1, "paper", 1), MemberSpec(2, "small-crops", 2), MemberSpec(3, "large-crops", 3),
             MemberSpec(4, "no-photometric", 4), MemberSpec(5, "bilinear-only", 5),
             MemberSpec(6, "paper", 6), MemberSpec(7, "paper", 7, width_factor=1.5)),
    note="Section 7: seven GoogLeNets with the same initialisation (by oversight) and learning-rate policy, "
         "differing only in sampling method and image order; one wider. Which sampling each member used "
         "and how much wider the seventh was are not given: this assignment and the x1.5 width are this "
         "project's. The wider member has the same seed but, having other shapes, other initial weights."))


@dataclass(frozen=True)
class Choice:
    """One point of the training procedure: what the paper says, what this project does."""

    topic: str
    paper: str
    project: str


CHOICES: tuple[Choice, ...] = (
    Choice("optimiser", "asynchronous SGD on a DistBelief CPU cluster, momentum 0.9",
           "SGD momentum 0.9 in one process by default; --kvstore dist_async is asynchronous SGD over "
           "MXNet's parameter server, dist_sync its synchronous form"),
    Choice("learning-rate policy", "decreased by 4% every 8 epochs",
           "the same, compressed by the recipe's factor c: 4% every 8/c epochs, counted in updates"),
    Choice("base lr, batch, weight decay, epochs", "not given", "the recipe's values (see RECIPES)"),
    Choice("Polyak averaging", "used for the inference model; form not given",
           "exponential moving average of all weights after every step, time constant in epochs, "
           "TensorFlow-style warm-up; the averaged weights are the model card's"),
    Choice("auxiliary classifiers", "losses added with weight 0.3; discarded at inference",
           "the same"),
    Choice("patch sampling", "area 8%-100%, aspect ratio 'chosen randomly' in [3/4, 4/3]",
           "area and aspect ratio uniform; 10 draws, then the whole image if none fits"),
    Choice("photometric distortions", "'in the style of Andrew Howard', no values",
           "brightness/contrast/saturation x(1 +- 0.4) in random order, PCA lighting noise 0.1; "
           "the result clipped to 0-255 and rounded to uint8 so training and evaluation share one input path"),
    Choice("ensemble initialisation", "the same for all seven, by oversight", "the same on purpose"),
    Choice("wider member", "one of the seven, width not given", "x1.5 channels"),
    Choice("epoch", "not defined", "a fresh random order per epoch from the member's seed; the last "
           "partial batch is dropped; each worker process takes a disjoint shard"),
    Choice("input normalisation", "'mean subtracted'", "the model spec's (ImageNet mean and std)"),
)

