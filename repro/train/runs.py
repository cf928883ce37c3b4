"""Training runs as the commands start them: one member (`repro train`) or an ensemble plan's members
(`repro train-ensemble`), one after the other in this process or several processes at a time."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from repro.atomic import write_text
from repro.compute_threads import child_environment
from repro.errors import ReproError
from repro.provenance import manifest
from repro.train.config import RunConfig, make_config
from repro.train.kvstore import create_distribution
from repro.train.loop import CARD, load_data, output_dir, reuse_finished, train
from repro.train.recipe import ENSEMBLES, RECIPES


def train_member(data_root: Path, out: Path, config: RunConfig, threads: int = 2,
                 progress: bool = True) -> tuple[dict, Path]:
    """Train (or resume, or reuse) one run of ``config``; its manifest record and model card path."""
    print(config.recipe.schedule.describe())
    distribution = create_distribution(config.kvstore)
    data = load_data(data_root, config, threads)
    record = train(config, data, out, distribution, progress=progress, threads=threads)
    return record, output_dir(out, distribution) / CARD


def ensemble_configs(model: str, recipe: str, plan_id: str, members: int | None = None,
                     seed: int | None = None, **overrides) -> tuple[list, list[RunConfig], int]:
    """The plan's first ``members`` members and their run configurations (recipe ``overrides``:
    width, epochs, batch_size, base_lr, input_size); also the shared initialisation seed."""
    plan = ENSEMBLES.get(plan_id)
    count = len(plan.members) if members is None else members
    if not 1 <= count <= len(plan.members):
        raise ReproError(f"--members {count}: plan {plan.id} has {len(plan.members)} members")
    width = overrides.pop("width", None) or RECIPES.get(recipe).width
    init_seed = plan.init_seed if seed is None else seed
    chosen = plan.members[:count]
    configs = [make_config(model, recipe, member.sampling, width=width * member.width_factor,
                           init_seed=init_seed, data_seed=member.data_seed, name=member.name(width),
                           **overrides) for member in chosen]
    return list(chosen), configs, init_seed


def train_ensemble(data_root: Path, out: Path, model: str, recipe: str, plan_id: str,
                   members: int | None = None, seed: int | None = None, jobs: int = 1, threads: int = 2,
                   progress: bool = True, **overrides) -> list[dict]:
    """Train the plan's members into ``out``/member<k>/ and write ``out``/ensemble.json; one summary
    row per member (its name, sampling, card and final validation errors)."""
    chosen, configs, init_seed = ensemble_configs(model, recipe, plan_id, members, seed, **overrides)
    print(configs[0].recipe.schedule.describe())
    out = Path(out)
    start = time.perf_counter()
    member_dirs = [out / f"member{m.number}" for m in chosen]
    if jobs > 1:
        records = _train_in_processes(data_root, recipe, configs, member_dirs, jobs, threads)
    else:
        data = load_data(data_root, configs[0], threads)
        local = create_distribution("local")
        records = [train(config, data, member_dir, local, progress=progress, threads=threads)
                   for config, member_dir in zip(configs, member_dirs)]
    summary = [{"number": member.number, "name": config.name, "sampling": config.sampling.id,
                "data_seed": config.data_seed, "width": config.recipe.width,
                "card": f"member{member.number}/{CARD}", "final": record["final"]}
               for member, config, record in zip(chosen, configs, records)]
    write_text(out / "ensemble.json", json.dumps(manifest(
        kind="training-ensemble", plan=dataclasses.asdict(ENSEMBLES.get(plan_id)), members_trained=len(chosen),
        init_seed=init_seed, recipe=recipe, members=summary,
        wall_seconds=round(time.perf_counter() - start, 1)), indent=1, sort_keys=True) + "\n")
    return summary


def _train_in_processes(data_root: Path, recipe_id: str, configs: list[RunConfig], outs: list[Path],
                        jobs: int, threads: int) -> list[dict]:
    """Run one `repro train` process per member, ``jobs`` at a time, each with the usable cores / ``jobs``
    OpenMP threads (the user's OMP_NUM_THREADS if set); their manifests, in member order."""
    threads_env = child_environment(jobs, f"repro train-ensemble --jobs {jobs}")

    def train_one(config: RunConfig, member_out: Path) -> dict:
        done = reuse_finished(member_out, config)  # here: a process per finished member cost ~1.5 s
        if done is not None:
            return done
        recipe = config.recipe
        command = [sys.executable, "-m", "repro", "train", "--data", str(data_root), "--out", str(member_out),
                   "--model", config.model, "--recipe", recipe_id, "--sampling", config.sampling.id,
                   "--width", repr(recipe.width), "--epochs", str(recipe.schedule.epochs),
                   "--batch-size", str(recipe.schedule.batch_size), "--lr", repr(recipe.schedule.base_lr),
                   "--input-size", str(recipe.input_size), "--seed", str(config.init_seed),
                   "--data-seed", str(config.data_seed), "--name", config.name,
                   "--threads", str(threads), "--no-progress"]
        result = subprocess.run(command, env={**os.environ, **threads_env}, check=False)
        if result.returncode != 0:
            raise ReproError(f"member {config.name} failed (exit {result.returncode}); rerun to resume it")
        return json.loads((member_out / "manifest.json").read_text())

    # Widest (slowest) members first, so the last one to start is not the one that takes longest.
    order = sorted(range(len(configs)), key=lambda i: -configs[i].recipe.width)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = dict(zip(order, pool.map(train_one, [configs[i] for i in order], [outs[i] for i in order])))
    return [done[i] for i in range(len(configs))]
