"""Evaluate one or more models with a multi-crop scheme into a probability store (resumable).

Every forward pass is kept: a 144-crop run stores the 1-, 10- and 144-crop averages, the crop-count
curve (36/72/108/144) and the max-over-crops ablation, so Table 3, ensembles and plots never run a
network again. Re-running the same command continues where it stopped; --shard K/N splits the work
across machines (then `repro merge`).

Examples:
  repro evaluate --index val.csv --images /data/val --model googlenet-gluoncv:pretrained \\
      --crops 144 --store stores/val
  repro evaluate --data /tmp/mini --model members/m1.json --model members/m2.json --crops 144 \\
      --crop-size 112 --store stores/mini --shard 1/2
"""
from __future__ import annotations

NAME = "evaluate"
HELP = "run models over a dataset with a crop scheme into a resumable probability store"


def configure(parser) -> None:
    from repro.commands._dataset import add_dataset_arguments
    from repro.commands._types import interpolation, output_dir, positive_float, positive_int, seed, shard, text

    add_dataset_arguments(parser)
    parser.add_argument("--model", type=text, action="append", required=True, metavar="REF",
                        help="model reference (repeatable): ID (random weights), ID:FILE.params, "
                             "googlenet-gluoncv:pretrained, or a model card .json")
    parser.add_argument("--classes", type=positive_int, default=1000, help="classes of ID-only references")
    parser.add_argument("--width", type=positive_float, default=1.0, help="width of ID-only references")
    parser.add_argument("--seed", type=seed, default=0, help="seed of random-weight references")
    parser.add_argument("--crops", type=text, default="144", help="crop scheme: 1, 10, 144 or a registered id")
    parser.add_argument("--crop-size", type=positive_int, default=None,
                        help="crop side (default: the model's input size; 224 for the paper)")
    parser.add_argument("--interpolation", type=interpolation, default="bilinear",
                        help="resize interpolation: bilinear (default), area, bicubic, nearest, lanczos")
    parser.add_argument("--store", required=True, type=output_dir, help="store directory (created or resumed)")
    parser.add_argument("--shard", type=shard, default="1/1", help="evaluate only shard K of N (default 1/1)")
    parser.add_argument("--batch-size", type=positive_int, default=144,
                        help="crops per forward pass, rounded down to whole images (default 144)")
    parser.add_argument("--chunk-images", type=positive_int, default=64,
                        help="images per store chunk, the unit of resumption (default 64)")
    parser.add_argument("--workers", type=positive_int, default=2, help="decode/crop threads (default 2)")
    parser.add_argument("--backend", type=text, default="auto",
                        help="execution backend[:key=value,...]: auto (default: per model the fp32 "
                             "backend measured fastest within 1e-4 of mxnet; the store records which), "
                             "mxnet (plain fp32), mxnet-fused, mxnet-bf16, "
                             "mxnet-int8:calibration=TRAIN_DIR, onnxruntime (needs the bench extra); "
                             "all accept micro_batch=N")
    parser.add_argument("--ctx", type=text, default="cpu", help="cpu, or gpu:0,gpu:1,... (default cpu)")
    parser.add_argument("--on-error", choices=("fail", "miss"), default="fail",
                        help="unreadable images: fail (default; other images still run, exit 2 "
                             "listing them) or miss (recorded and counted as wrong)")
    parser.add_argument("--per-crop", action="store_true",
                        help="also keep every crop's probabilities (small datasets only)")
    parser.add_argument("--allow-download", action="store_true",
                        help="let GluonCV download pretrained weights missing from the cache")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from repro.commands._dataset import source_from_args
    from repro.engine.evaluate import EvaluationSettings, evaluate_references, summary
    from repro.models.context import parse_ctx

    source, images = source_from_args(args)
    settings = EvaluationSettings(
        batch_size=args.batch_size, chunk_min_images=args.chunk_images, shard=args.shard,
        on_error=args.on_error, per_crop=args.per_crop, interpolation=args.interpolation,
        workers=args.workers, ctx=parse_ctx(args.ctx), backend=args.backend, progress=not args.no_progress)
    result = evaluate_references(source, images, args.model, args.store, args.crops, settings,
                                 crop_size=args.crop_size, classes=args.classes, width=args.width,
                                 seed=args.seed, allow_download=args.allow_download)
    print(summary(result))
    return 0
