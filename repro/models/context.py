"""Devices on the command line: ``cpu`` or ``gpu:0,gpu:1`` -> MXNet contexts."""
from __future__ import annotations

import mxnet as mx

from repro.errors import ReproError


def parse_ctx(text: str) -> tuple[mx.Context, ...]:
    """``cpu`` or ``gpu:0,gpu:1`` -> tuple of MXNet contexts."""
    contexts = []
    for part in text.split(","):
        kind, _, number = part.strip().partition(":")
        if kind == "cpu":
            contexts.append(mx.cpu())
        elif kind == "gpu" and number.isdigit():
            available = mx.context.num_gpus()
            if int(number) >= available:
                raise ReproError(f"--ctx {text!r}: MXNet sees {available} GPU(s) on this machine"
                                 f"{'' if available else ' (or this MXNet build has no CUDA)'}; use "
                                 f"--ctx cpu" + (f" or gpu:0..gpu:{available - 1}" if available else ""))
            contexts.append(mx.gpu(int(number)))
        else:
            raise ReproError(f"--ctx {text!r}: expected cpu or gpu:N[,gpu:M...]")
    return tuple(contexts)
