"""Train the members of Section 7's ensemble, one after the other in this process.

The plan (a registered ensemble plan, default paper-7) gives every member the same initialisation
seed (the paper's oversight, reproduced on purpose), its own sampling setting and data seed (image
order, patches, dropout), and makes the seventh wider. Each member is a `repro train` run in
OUT/member<k>/ (resumable; finished members are skipped). With --jobs 1 they run one after the other
in this process and share the decoded images; with --jobs N, N `repro train` processes run at a time,
each with the usable cores / N OpenMP threads, at least one (OMP_NUM_THREADS, when set, is kept for
each); on a 2-core machine --jobs 2 is faster (2 members x 2 epochs of the mini recipe on 2 idle
AMD EPYC cores: 25.7 s with --jobs 2, 41.2 s one after the other with two threads each; on 2 Intel
Xeon cores a batch-16 step of the mini recipe took 147 ms side by side with another member's, 109 ms
alone with two threads: 218 against 147 img/s) and far faster when busy, where OpenMP threads
spin-wait; the weights came out bit-identical with 1 and 2 threads here.
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
    from repro.commands._training import add_training_arguments
    from repro.commands._types import positive_int, seed, text

    add_training_arguments(parser)
    parser.add_argument("--plan", type=text, default="paper-7", help="ensemble plan (default %(default)s)")
    parser.add_argument("--members", type=positive_int, help="train the first N members of the plan (default: all)")
    parser.add_argument("--seed", type=seed, help="initialisation seed shared by all members (default: the plan's)")
    parser.add_argument("--jobs", type=positive_int, default=1,
                        help="members trained at a time, each in its own process with cores / JOBS "
                             "OpenMP threads (default 1: one after the other in this process)")


def run(args) -> int:
    from repro.train.runs import train_ensemble

    summary = train_ensemble(args.data, args.out, args.model, args.recipe, args.plan, members=args.members,
                             seed=args.seed, jobs=args.jobs, threads=args.threads,
                             progress=not args.no_progress, width=args.width, epochs=args.epochs,
                             batch_size=args.batch_size, base_lr=args.lr, input_size=args.input_size)
    for row in summary:
        print(f"{row['name']:>16} ({row['sampling']}): Polyak val top-1/top-5 err "
              f"{row['final']['polyak_val_top1_err']:.3f}/{row['final']['polyak_val_top5_err']:.3f}  "
              f"{args.out / row['card']}")
    return 0
