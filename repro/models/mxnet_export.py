"""MXNet's exported-model format: ``prefix-symbol.json`` + ``prefix-NNNN.params``, for any network.

``HybridBlock.export`` writes it; :func:`load_exported` reads it back with ``SymbolBlock.imports`` and
wraps the graph so it behaves like the project's Gluon networks: NCHW float32 in, logits out. (A local
``.params`` file for a registered architecture is :func:`repro.models.weights.load_params`' job.)
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import mxnet as mx
from mxnet.gluon import HybridBlock, SymbolBlock

from repro.errors import ReproError

INPUT_NAME = "data"  # the name HybridBlock.export gives a single input


def exported_paths(prefix: str | Path, epoch: int = 0) -> tuple[Path, Path]:
    """The symbol and parameter files of an exported model, as ``HybridBlock.export`` names them."""
    return Path(f"{prefix}-symbol.json"), Path(f"{prefix}-{epoch:04d}.params")


def export_network(net: HybridBlock, prefix: str | Path, input_size: int = 224, epoch: int = 0,
                   ctx: mx.Context = mx.cpu()) -> tuple[Path, Path]:
    """Export ``net``'s inference graph (hybridizing it); returns the symbol and parameter paths.

    The graph is traced in predict mode, so training-only parts (GoogLeNetPaper's aux heads) and
    their parameters are left out.
    """
    net.hybridize()
    with mx.autograd.predict_mode():
        net(mx.nd.zeros((1, 3, input_size, input_size), ctx=ctx))
    net.export(str(prefix), epoch=epoch)
    return exported_paths(prefix, epoch)


class ExportedNetwork(HybridBlock):
    """An imported graph with the Gluon networks' interface: ``(N, 3, H, W)`` float32 -> logits."""

    def __init__(self, graph: SymbolBlock, classes: int, symbol_file: Path, params_file: Path,
                 **kwargs):
        super().__init__(**kwargs)
        self.classes = classes
        self.symbol_file, self.params_file = symbol_file, params_file
        with self.name_scope():
            self.graph = graph

    def hybrid_forward(self, F, x):
        return self.graph(x)


def _load_symbol(path: Path) -> mx.sym.Symbol:
    # JSON is checked first: on malformed JSON MXNet 1.9's error message holds raw bytes of the file
    # and its own decoding of that message fails with a UnicodeDecodeError instead of an MXNetError.
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReproError(f"{path} is not an MXNet symbol file (invalid JSON: {exc})") from exc
    try:
        return mx.sym.load_json(text)
    except mx.MXNetError as exc:
        raise ReproError(f"{path} is not an MXNet symbol file ({str(exc).splitlines()[0]})") from exc


def _load_param_names(prefix: str | Path, epoch: int, path: Path) -> set[str]:
    try:
        arg_params, aux_params = mx.model.load_params(str(prefix), epoch)
    except mx.MXNetError as exc:
        raise ReproError(f"{path} is not an MXNet .params file ({str(exc).splitlines()[0]})") from exc
    except (AttributeError, ValueError) as exc:
        # load_params assumes export's naming: a list of arrays or unprefixed names fail inside it.
        raise ReproError(f"{path} does not name its arrays 'arg:<name>' / 'aux:<name>' as "
                         f"HybridBlock.export does (a save_parameters file? load it with "
                         f"repro.models.weights.load_params)") from exc
    return set(arg_params) | set(aux_params)


def load_exported(prefix: str | Path, epoch: int = 0, ctx: mx.Context = mx.cpu(),
                  input_size: int = 224) -> ExportedNetwork:
    """Load ``prefix-symbol.json`` + ``prefix-{epoch:04d}.params`` as an :class:`ExportedNetwork`.

    The graph must take one input named ``data`` and give one ``(N, classes)`` output for an
    ``input_size`` square image; every graph parameter must be in the params file.
    """
    symbol_file, params_file = exported_paths(prefix, epoch)
    missing = [str(path) for path in (symbol_file, params_file) if not path.is_file()]
    if missing:
        raise ReproError(f"exported model {prefix} (epoch {epoch}) is incomplete: "
                         f"{' and '.join(missing)} not found (HybridBlock.export writes both)")
    symbol = _load_symbol(symbol_file)
    stored = _load_param_names(prefix, epoch, params_file)
    inputs = [name for name in symbol.list_inputs() if name not in stored]
    if inputs != [INPUT_NAME]:
        raise ReproError(f"{symbol_file} takes inputs {inputs} (graph inputs without a value in "
                         f"{params_file.name}); expected exactly one, named {INPUT_NAME!r}")
    if len(symbol.list_outputs()) != 1:
        raise ReproError(f"{symbol_file} has {len(symbol.list_outputs())} outputs "
                         f"{symbol.list_outputs()}; export the network in inference mode so it has "
                         f"one (the logits)")
    try:
        _, out_shapes, _ = symbol.infer_shape(**{INPUT_NAME: (1, 3, input_size, input_size)})
    except mx.MXNetError as exc:
        raise ReproError(f"{symbol_file} does not accept a (1, 3, {input_size}, {input_size}) "
                         f"input ({str(exc).splitlines()[0]})") from exc
    out_shape = out_shapes[0] if out_shapes else ()
    if len(out_shape) != 2:
        raise ReproError(f"{symbol_file} outputs shape {out_shape} for one image; expected "
                         f"(1, classes) logits")
    with warnings.catch_warnings():
        # imports() leaves the input's dtype to the first call; MXNet warns about that, needlessly.
        warnings.filterwarnings("ignore", message="Cannot decide type for the following arguments")
        graph = SymbolBlock.imports(str(symbol_file), [INPUT_NAME], str(params_file), ctx=ctx)
    return ExportedNetwork(graph, classes=out_shape[1], symbol_file=symbol_file,
                           params_file=params_file)
