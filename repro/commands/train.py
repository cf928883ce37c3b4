"""Train one GoogLeNet with the paper's recipe (Section 6): sampled patches with photometric
distortions and random interpolation, SGD momentum 0.9, lr -4% every 8 epochs (compressed by the
recipe's factor), aux losses x0.3, Polyak averaging for the inference model.

Writes into --out: last.params, polyak.params (the averaged weights), model.json (the model card for
`repro evaluate --model OUT/model.json`), log.csv (epoch, loss, lr, val top-1/top-5 error of the
trained and the averaged weights, img/s) and manifest.json. Interrupted? Run the same command again:
it resumes from the last epoch's checkpoint and ends with the same weights.

Examples:
  repro train --data /tmp/mini --recipe mini --sampling paper --seed 0 --out runs/m1
  repro train --data /data/ILSVRC2012 --model googlenet-paper --width 1 --epochs 60 --out runs/full
  repro launch --workers 2 -- repro train --data /tmp/mini --recipe mini --kvstore dist_async --out runs/async
"""
from __future__ import annotations

NAME = "train"
HELP = "train one network with the paper's recipe (resumable; writes weights, model card, log, manifest)"


def configure(parser) -> None:
    from repro.commands._training import add_training_arguments
    from repro.commands._types import seed, text

    add_training_arguments(parser)
    parser.add_argument("--sampling", type=text, help="sampling setting: paper, small-crops, large-crops, "
                                           "no-photometric, bilinear-only (default: the recipe's)")
    parser.add_argument("--seed", type=seed, default=0, help="initialisation seed (default 0)")
    parser.add_argument("--data-seed", type=seed,
                        help="seed of image order, patches and dropout (default: --seed)")
    parser.add_argument("--name", type=text, help="store key written to the model card (default: derived from the options)")
    parser.add_argument("--kvstore", default="local", choices=("local", "dist_sync", "dist_async"),
                        help="local (default), or MXNet's parameter server under `repro launch` or a DMLC_* "
                             "environment: dist_sync, dist_async (the paper's asynchronous SGD)")


def run(args) -> int:
    from repro.train.config import make_config
    from repro.train.runs import train_member

    config = make_config(args.model, args.recipe, args.sampling, width=args.width, epochs=args.epochs,
                         batch_size=args.batch_size, base_lr=args.lr, input_size=args.input_size,
                         init_seed=args.seed, data_seed=args.data_seed, name=args.name, kvstore=args.kvstore)
    record, card = train_member(args.data, args.out, config, args.threads, progress=not args.no_progress)
    final = record["final"]
    print(f"{config.name}: Polyak val top-1/top-5 err {final['polyak_val_top1_err']:.3f}/"
          f"{final['polyak_val_top5_err']:.3f}; model card {card}")
    return 0
