"""One training run's complete configuration: model, recipe (with any overrides), sampling, seeds, name.

Its JSON form goes into every checkpoint and manifest; a checkpoint or finished run is only reused by
a run with an identical configuration.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from repro.errors import ReproError
from repro.train.recipe import RECIPES, SAMPLINGS, SamplingSpec, TrainRecipe


@dataclass(frozen=True)
class RunConfig:
    """What one ``repro train`` run does (the data root and output folder aside)."""

    model: str  # a registered model spec id whose network has the auxiliary heads
    recipe: TrainRecipe
    sampling: SamplingSpec
    init_seed: int
    data_seed: int  # image order, patches, dropout
    name: str  # the model card's store key
    kvstore: str = "local"

    def as_json(self) -> dict:
        """The configuration as plain JSON values (tuples become lists). The recipe's ``choices`` are
        documentation, not configuration: left out here, they are recorded once in the manifest."""
        record = json.loads(json.dumps(dataclasses.asdict(self)))
        record["recipe"].pop("choices", None)
        return record

    def difference(self, recorded: dict) -> str | None:
        """The first field (dotted path) where ``recorded`` differs from this configuration, else None."""
        return _first_difference(self.as_json(), recorded, "")


def _first_difference(mine: object, theirs: object, path: str) -> str | None:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for key in sorted(set(mine) | set(theirs)):
            found = _first_difference(mine.get(key), theirs.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return None if mine == theirs else f"{path} ({theirs!r} recorded, {mine!r} now)"


def make_config(model: str, recipe: str, sampling: str | None = None, *, width: float | None = None,
                epochs: int | None = None, batch_size: int | None = None, base_lr: float | None = None,
                input_size: int | None = None, init_seed: int = 0, data_seed: int | None = None,
                name: str | None = None, kvstore: str = "local") -> RunConfig:
    """A run configuration from registered ids and command-line overrides (None keeps the recipe's)."""
    base = RECIPES.get(recipe)
    schedule = dataclasses.replace(
        base.schedule, **{k: v for k, v in (("epochs", epochs), ("batch_size", batch_size),
                                            ("base_lr", base_lr)) if v is not None})
    chosen = dataclasses.replace(
        base, schedule=schedule, **{k: v for k, v in (("width", width), ("input_size", input_size))
                                    if v is not None})
    if chosen.width <= 0 or chosen.input_size < 1:
        raise ReproError(f"width ({chosen.width}) and input size ({chosen.input_size}) must be positive")
    sampling_spec = SAMPLINGS.get(sampling or chosen.sampling)
    data_seed = init_seed if data_seed is None else data_seed
    name = name or f"{model}-{sampling_spec.id}-w{chosen.width:g}-s{init_seed}-d{data_seed}"
    return RunConfig(model, chosen, sampling_spec, init_seed, data_seed, name, kvstore)
