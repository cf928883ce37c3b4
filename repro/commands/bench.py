"""Benchmark the harness against the machine's peak and against peers, in one run.

Measures, on the same machine, models and images: the bare network (crops/s per backend and batch
size, GFLOP/s against the measured fp32 peak), the engine end to end (images/s for 1, 10 and 144
crops against the bare-network bound, peak RSS), peers on the single-crop task (ONNX Runtime loop,
GluonCV-style DataLoader loop, torchvision eager and channels-last when an interpreter with torch is
given), and, with trained members and a labelled dataset, how far bf16/int8 move the answers. Writes
CSVs, a plot, summary.md (the README section) and manifest.json to --out; checks the targets.

--scale instead measures a full-size run's costs beyond the networks (a synthetic 7 x 50,000 x 1,000
store written as 4 shards, `repro merge`, table 3, ensemble, report; `repro evaluate` on 1k, 10k, 50k
generated JPEGs): scale.csv and its rows of targets.csv. --fast-modes judges bf16 and int8 against
fp32 on the canary (efficientnet-lite0, pretrained) over the real images: fast_modes.csv.

Examples:
  repro bench --out results/bench                        # the full run (~30 min on 2 cores)
  repro bench --out /tmp/b --quick                        # a tiny run: does everything, measures little
  repro bench --member m1/model.json --member m2/model.json --agreement-data /tmp/mini
  repro bench --scale --work-dir /tmp/scale-cache         # ~11 GB of disk, ~30 min on 2 cores
  repro bench --scale --scale-images 256 --scale-models 2 --eval-images 8,16,32   # a tiny one
  repro bench --fast-modes                                # the canary on ../shared/data
"""
from __future__ import annotations

NAME = "bench"
HELP = "benchmark backends, the engine end to end and peers; write results/bench"


def _counts(text: str) -> dict[str, int]:
    """``CROPS=IMAGES,...`` (an argparse type): images per crop scheme, 144 included."""
    import argparse

    from repro.commands._types import positive_int

    try:
        counts = {crops: positive_int(count) for crops, _, count in (p.partition("=") for p in text.split(","))}
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: expected CROPS=IMAGES,... with IMAGES >= 1, e.g. "
                                         f"1=1000,10=200,144=16") from exc
    if "144" not in counts:
        raise argparse.ArgumentTypeError(f"{text!r} must include 144 (the memory check runs it)")
    return counts


_counts.__name__ = "CROPS=IMAGES list"


def configure(parser) -> None:
    import os
    import tempfile

    from repro.commands._types import (
        any_path,
        existing_dir,
        existing_file,
        non_negative_int,
        output_dir,
        positive_float,
        positive_int,
        positive_int_list,
        text,
    )

    shared = os.environ.get("REPRO_SHARED_DATA", "../shared/data")
    parser.add_argument("--out", type=output_dir, default="results/bench", help="output folder (default results/bench)")
    parser.add_argument("--images", type=any_path, default=f"{shared}/imagenet-samples",
                        help="folder of JPEGs (default: %(default)s; generated images when absent)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny run: googlenet-paper at width 0.25, 64 px, 10 classes, few images")
    parser.add_argument("--models", type=text, default="googlenet-gluoncv,googlenet-paper", help="model ids")
    parser.add_argument("--e2e-models", type=text, default="googlenet-gluoncv",
                        help="models timed end to end (default %(default)s; every --models is timed bare)")
    parser.add_argument("--backends", type=text, default="mxnet,mxnet-fused,onnxruntime,mxnet-bf16,mxnet-int8",
                        help="execution backends (default: all)")
    parser.add_argument("--batch-sizes", type=positive_int_list, default="1,8,32,64", help="bare-network batch sizes")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed repetitions, bare network")
    parser.add_argument("--warmup", type=non_negative_int, default=1, help="untimed repetitions first")
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="length of one bare repetition")
    parser.add_argument("--e2e-images", type=_counts, default="1=1000,10=200,144=16",
                        help="images per crop scheme end to end (default %(default)s)")
    parser.add_argument("--e2e-repeats", type=positive_int, default=3, help="timed evaluations per scheme")
    parser.add_argument("--e2e-batch", type=positive_int, default=64, help="crops per forward end to end "
                        "(rounded down to whole images, at least one)")
    parser.add_argument("--workers", type=positive_int, default=2, help="decode/crop threads (default 2)")
    parser.add_argument("--prefetch", type=positive_int, default=8, help="images decoded ahead (default 8)")
    parser.add_argument("--peer-images", type=positive_int, default=1000, help="images for the peers")
    parser.add_argument("--peer-batch", type=positive_int, default=32, help="peers' batch size (GluonCV's)")
    parser.add_argument("--peer-repeats", type=positive_int, default=3, help="timed passes per peer")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="compute threads for MXNet (OMP_NUM_THREADS), ONNX Runtime and torch "
                             "(default: the CPUs this process may use)")
    parser.add_argument("--torch-python", type=text, default=os.environ.get("REPRO_TORCH_PYTHON"),
                        help="interpreter with torch+torchvision for the torchvision peer (default "
                             "$REPRO_TORCH_PYTHON, else this one if it has torch)")
    parser.add_argument("--calibration", type=existing_dir, default=None,
                        help="int8 calibration images for the speed runs (default: --images)")
    parser.add_argument("--member", type=existing_file, action="append", default=[], metavar="CARD",
                        help="trained model card for the precision-agreement check (repeatable)")
    parser.add_argument("--agreement-data", type=existing_dir, default=None, metavar="DIR",
                        help="labelled dataset root (val/, devkit, train/) for the agreement check")
    parser.add_argument("--no-peak", action="store_true", help="skip the CPU peak probe")
    scale = parser.add_argument_group("scale run (--scale)")
    scale.add_argument("--scale", action="store_true", help="measure the full-size costs: scale.csv")
    scale.add_argument("--work-dir", type=output_dir, default=tempfile.gettempdir(),
                       help="where the synthetic store and images are written, then deleted "
                            "(default %(default)s; ~21 GB free at full size)")
    scale.add_argument("--scale-models", type=positive_int, default=7, help="members of the store (7)")
    scale.add_argument("--scale-images", type=positive_int, default=50_000, help="images of the store")
    scale.add_argument("--scale-classes", type=positive_int, default=1000, help="classes of the store")
    scale.add_argument("--scale-shards", type=positive_int, default=4, help="shards written, then merged")
    scale.add_argument("--scale-chunk-images", type=positive_int, default=64, help="images per chunk")
    scale.add_argument("--warm-cache", action="store_true",
                       help="keep the store in the page cache (default: dropped before each command)")
    scale.add_argument("--no-profile", action="store_true",
                       help="skip the profiled second `repro table 3` (scale_profile.md)")
    scale.add_argument("--eval-images", type=positive_int_list, default="1000,10000,50000",
                       help="index sizes for `repro evaluate` (default %(default)s)")
    fast = parser.add_argument_group("fast modes on a real network (--fast-modes)")
    fast.add_argument("--fast-modes", action="store_true",
                      help="bf16 and int8 against fp32 on the canary over real images: fast_modes.csv")
    fast.add_argument("--fast-data", type=any_path, default=shared,
                      help="the folder holding imagenet-samples/, ilsvrc2012-val-sample/ and "
                           "ilsvrc2014-devkit/ (default %(default)s)")
    fast.add_argument("--fast-backends", type=text, default="onnxruntime,mxnet-int8,mxnet-bf16",
                      help="backends judged against MXNet fp32 (default %(default)s)")
    fast.add_argument("--fast-step", type=positive_int, default=2,
                      help="score every N-th class sample, calibrate int8 on others (default 2)")
    fast.add_argument("--fast-calibration-images", type=positive_int, default=100,
                      help="int8 calibration images, all class samples not scored (default 100)")
    fast.add_argument("--fast-no-val", action="store_true", help="skip the 100 ILSVRC2012 val images")


def run(args) -> int:
    import os
    import shlex
    import sys
    from pathlib import Path

    threads = args.threads or len(os.sched_getaffinity(0))
    if "mxnet" not in sys.modules:  # MXNet reads it once, when its OpenMP runtime starts
        os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")  # no log line per oneDNN graph partition

    if args.scale and args.fast_modes:
        from repro.errors import ReproError

        raise ReproError("give --scale or --fast-modes, not both (each is its own run)")
    if args.scale:
        return _scale(args)
    if args.fast_modes:
        return _fast_modes(args)
    from repro.bench.run import BenchConfig, run_bench

    config = BenchConfig(
        out=Path(args.out), images=Path(args.images), models=tuple(args.models.split(",")),
        e2e_models=tuple(args.e2e_models.split(",")),
        backends=tuple(args.backends.split(",")),
        batch_sizes=args.batch_sizes, repeats=args.repeats,
        warmup=args.warmup, seconds=args.seconds, e2e_images=args.e2e_images,
        e2e_repeats=args.e2e_repeats, e2e_batch=args.e2e_batch, workers=args.workers,
        prefetch=args.prefetch, peer_images=args.peer_images, peer_batch=args.peer_batch,
        peer_repeats=args.peer_repeats, threads=threads, torch_python=args.torch_python,
        calibration=Path(args.calibration) if args.calibration else None,
        members=tuple(map(str, args.member)), agreement_data=args.agreement_data,
        measure_peak=not args.no_peak, command=shlex.join(["repro", *sys.argv[1:]]))
    if args.quick:
        config = config.quick()
    run_bench(config)
    print((Path(args.out) / "summary.md").read_text())
    return 0


def _scale(args) -> int:
    from pathlib import Path

    from repro.bench.scale import ScaleConfig, run_scale

    frame = run_scale(ScaleConfig(
        out=Path(args.out), work_dir=Path(args.work_dir), models=args.scale_models,
        images=args.scale_images, classes=args.scale_classes, shards=args.scale_shards,
        chunk_images=args.scale_chunk_images, cold=not args.warm_cache, profile=not args.no_profile,
        eval_images=tuple(args.eval_images), workers=args.workers))
    print(frame.drop(columns="note").to_string(index=False))
    return 0


def _fast_modes(args) -> int:
    from pathlib import Path

    from repro.bench.fast_modes import FastModesConfig, run_fast_modes
    from repro.errors import ReproError

    data = Path(args.fast_data)
    if not (data / "imagenet-samples").is_dir():
        raise ReproError(f"--fast-data {data} has no imagenet-samples/ (the 1,000 ILSVRC class samples)")
    frame = run_fast_modes(FastModesConfig(
        out=Path(args.out), shared=data, backends=tuple(args.fast_backends.split(",")),
        step=args.fast_step, calibration_images=args.fast_calibration_images, val=not args.fast_no_val,
        workers=args.workers))
    print(frame.drop(columns="note").to_string(index=False))
    return 0
