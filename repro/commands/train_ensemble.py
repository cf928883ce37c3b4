"""Train the members of Section 7's ensemble, one after the other in this process.

The plan (protocols.training.ENSEMBLES, default paper-7) gives every member the same initialisation
seed (the paper's oversight, reproduced on purpose), its own sampling setting and data seed (image
order, patches, dropout), and makes the seventh wider. Each member is a `repro train` run in
OUT/member<k>/ (resumable; finished members are skipped). With --jobs 1 they run one after the other
in this process and share the decoded images; with --jobs N, N `repro train` processes run at a time,
each with one OpenMP thread (as fast as one process with two threads on an idle 2-core machine, far
faster on a busy one, where OpenMP threads spin-wait; the weights came out bit-identical with 1 and 2
threads here).
OUT/ensemble.json lists the members and their model cards, for
`repro evaluate --model OUT/member1/model.json --model OUT/member2/model.json ...`.

Examples:
  repro train-ensemble --data /tmp/mini --recipe mini --members 7 --jobs 2 --out runs/ensemble
  repro train-ensemble --data /data/ILSVRC2012 --members 7 --epochs 60 --out runs/paper
"""
from __future__ import annotations

NAME = "train-ensemble"
HELP = "train the members of an ensemble plan (same init, different sampling and order, one wider)"


def configure(parser) -> None:
    from repro.train.options import add_training_arguments

    add_training_arguments(parser)
    parser.add_argument("--plan", default="paper-7", help="ensemble plan (default %(default)s)")
    parser.add_argument("--members", type=int, help="train the first N members of the plan (default: all)")
    parser.add_argument("--seed", type=int, help="initialisation seed shared by all members (default: the plan's)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="members trained at a time, each in its own process with one OpenMP thread "
                             "(default 1: one after the other in this process)")


def run(args) -> int:
    import dataclasses
    import json
    import time
    from pathlib import Path

    from protocols.training import ENSEMBLES, RECIPES
    from repro.atomic import write_text
    from repro.errors import ReproError
    from repro.provenance import manifest
    from repro.train.config import make_config
    from repro.train.kvstore import create_distribution
    from repro.train.loop import CARD, load_data, train

    plan = ENSEMBLES.get(args.plan)
    count = len(plan.members) if args.members is None else args.members
    if not 1 <= count <= len(plan.members):
        raise ReproError(f"--members {count}: plan {plan.id} has {len(plan.members)} members")
    width = args.width or RECIPES.get(args.recipe).width
    init_seed = plan.init_seed if args.seed is None else args.seed
    members = plan.members[:count]
    configs = [make_config(args.model, args.recipe, member.sampling, width=width * member.width_factor,
                           epochs=args.epochs, batch_size=args.batch_size, base_lr=args.lr,
                           input_size=args.input_size, init_seed=init_seed, data_seed=member.data_seed,
                           name=member.name(width)) for member in members]
    print(configs[0].recipe.schedule.describe())
    out = Path(args.out)
    start = time.perf_counter()
    if args.jobs > 1:
        records = _train_in_processes(args, configs, [out / f"member{m.number}" for m in members])
    else:
        data = load_data(args.data, configs[0], args.threads)
        local = create_distribution("local")
        records = [train(config, data, out / f"member{member.number}", local, progress=not args.no_progress,
                         threads=args.threads) for member, config in zip(members, configs)]
    summary = [{"number": member.number, "name": config.name, "sampling": config.sampling.id,
                "data_seed": config.data_seed, "width": config.recipe.width,
                "card": f"member{member.number}/{CARD}", "final": record["final"]}
               for member, config, record in zip(members, configs, records)]
    write_text(out / "ensemble.json", json.dumps(manifest(
        kind="training-ensemble", plan=dataclasses.asdict(plan), members_trained=count, init_seed=init_seed,
        recipe=args.recipe, members=summary, wall_seconds=round(time.perf_counter() - start, 1)),
        indent=1, sort_keys=True) + "\n")
    for row in summary:
        print(f"{row['name']:>16} ({row['sampling']}): Polyak val top-1/top-5 err "
              f"{row['final']['polyak_val_top1_err']:.3f}/{row['final']['polyak_val_top5_err']:.3f}  "
              f"{out / row['card']}")
    return 0


def _train_in_processes(args, configs, outs) -> list[dict]:
    """Run one `repro train` process per member, ``args.jobs`` at a time; their manifests, in member order."""
    import json
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from repro.errors import ReproError

    def train_one(config, member_out) -> dict:
        recipe = config.recipe
        command = [sys.executable, "-m", "repro", "train", "--data", str(args.data), "--out", str(member_out),
                   "--model", config.model, "--recipe", args.recipe, "--sampling", config.sampling.id,
                   "--width", repr(recipe.width), "--epochs", str(recipe.schedule.epochs),
                   "--batch-size", str(recipe.schedule.batch_size), "--lr", repr(recipe.schedule.base_lr),
                   "--input-size", str(recipe.input_size), "--seed", str(config.init_seed),
                   "--data-seed", str(config.data_seed), "--name", config.name,
                   "--threads", str(args.threads), "--no-progress"]
        result = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
        if result.returncode != 0:
            raise ReproError(f"member {config.name} failed (exit {result.returncode}); rerun to resume it")
        return json.loads((member_out / "manifest.json").read_text())

    # Widest (slowest) members first, so the last one to start is not the one that takes longest.
    order = sorted(range(len(configs)), key=lambda i: -configs[i].recipe.width)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = dict(zip(order, pool.map(train_one, [configs[i] for i in order], [outs[i] for i in order])))
    return [done[i] for i in range(len(configs))]
