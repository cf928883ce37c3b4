"""Which oneDNN kernels a backend runs on this CPU: its verbose log, read from a child process.

oneDNN prints one line per primitive it creates and runs when ``DNNL_VERBOSE=1`` (``MKLDNN_VERBOSE``
for older builds): the ISA it dispatches for (``isa:Intel AVX2``, ``... AMX``) and each primitive's
implementation (``jit_uni_int8:avx2``, ``brg:avx512_core_amx``). The variable is read once, when
oneDNN starts, and the lines go to the process's stdout, hence a child process:
``python -m repro.bench.onednn BACKEND MODEL [BATCH]`` builds the predictor and runs one batch.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter

_ISA_RE = re.compile(r"^(?:dnnl|mkldnn)_verbose,info,cpu,isa:(.*)$", re.MULTILINE)
_EXEC_RE = re.compile(r"^(?:dnnl|mkldnn)_verbose,exec,cpu,([a-z_0-9]+),([^,]+),", re.MULTILINE)


def onednn_kernels(backend: str, model: str, batch: int = 4) -> dict:
    """``{"isa", "kernels" (Counter of 'primitive impl' run), "amx" (bool), "error"}`` of one batch
    of ``model`` (a reference) under ``backend`` in a child with the verbose log on."""
    env = {**os.environ, "DNNL_VERBOSE": "1", "MKLDNN_VERBOSE": "1"}
    child = subprocess.run([sys.executable, "-m", "repro.bench.onednn", backend, model, str(batch)],
                           capture_output=True, text=True, env=env)
    log = child.stdout
    isa = _ISA_RE.search(log)
    kernels = Counter(f"{primitive} {impl}" for primitive, impl in _EXEC_RE.findall(log))
    error = "" if child.returncode == 0 else (child.stderr.strip().splitlines() or ["exit status "
                                                                                    f"{child.returncode}"])[-1]
    return {"isa": isa[1].strip() if isa else "", "kernels": kernels,
            "amx": any("amx" in kernel for kernel in kernels), "error": error}


def describe(kernels: Counter, primitive: str = "convolution") -> str:
    """The implementations of ``primitive`` run, most frequent first: ``jit_1x1:avx2 x64, ...``."""
    found = [(k.split(" ", 1)[1], n) for k, n in kernels.most_common() if k.startswith(primitive + " ")]
    return ", ".join(f"{impl} x{n}" for impl, n in found) or "none"


def _main(argv: list[str]) -> int:
    import mxnet as mx
    import numpy as np

    from repro.models.backends import build_predictor
    from repro.models.refs import load_model, parse_ref

    backend, reference, batch = argv[0], argv[1], int(argv[2]) if len(argv) > 2 else 4
    model = load_model(parse_ref(reference))
    shape = (batch, model.ref.input_size, model.ref.input_size, 3)
    predict = build_predictor(model, backend, (mx.cpu(),), shape)  # runs one batch of zeros
    predict(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
