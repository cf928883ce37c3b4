"""What a store cost to compute, read from its run records (``runs/shard-K-of-N.json``).

Each run of `repro evaluate` records, per model: the images it computed, the crops per image, how
many models it ran together, its wall time and the model's forward time, and the machine (CPU model,
compute threads). A model's share of a run is its forward time plus an equal share of the rest
(decoding and cropping are done once per image for all the models of a run); its cost is the sum of
its shares over its runs divided by the images they computed. Runs recorded before these fields
existed are left out; a store none of whose runs has them has no measured cost.
"""
from __future__ import annotations

from dataclasses import dataclass

from repro.engine.store import ModelStore


@dataclass(frozen=True)
class StoreCost:
    """Seconds per image of a store's pass (all its crops), and the machines that ran it."""

    seconds_per_image: float | None  # None: no run recorded what it computed
    crops_per_image: int
    machines: tuple[str, ...]  # "CPU model, N compute threads", sorted

    def for_crops(self, crops: int) -> float | None:
        """The cost of ``crops`` of the pass's crops per image: scaled by ``crops`` / crops per image
        (the rows of fewer crops come from the same pass; forwards dominate a multi-crop image)."""
        if self.seconds_per_image is None:
            return None
        return self.seconds_per_image * crops / self.crops_per_image


def _machine(run: dict) -> str:
    machine = run.get("machine", {})
    threads = machine.get("compute_threads", {}).get("threads")
    cpu = machine.get("cpu_model") or machine.get("processor") or "unknown CPU"
    return f"{cpu}, {threads if threads else 'default'} compute thread(s)"


def store_cost(store: ModelStore) -> StoreCost:
    """The measured :class:`StoreCost` of ``store`` from the run records it holds."""
    runs = [run for records in store.run_records().values() for run in records]
    timed = [run for run in runs if run.get("images_computed") and "forward_seconds_all_models" in run]
    seconds = sum(run["forward_seconds"] + (run["wall_seconds"] - run["forward_seconds_all_models"])
                  / run["models_in_run"] for run in timed)
    images = sum(run["images_computed"] for run in timed)
    return StoreCost(seconds / images if images else None, store.spec.n_crops,
                     tuple(sorted({_machine(run) for run in timed})))


def members_cost(costs: list[StoreCost], crops: int) -> float | None:
    """Seconds per image of ``crops`` crops of every member of ``costs`` (None if one is unmeasured)."""
    shares = [cost.for_crops(crops) for cost in costs]
    return None if any(share is None for share in shares) else sum(shares)
