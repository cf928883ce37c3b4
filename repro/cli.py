"""`repro <command>`: discovers the sub-commands in :mod:`repro.commands` and runs one."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import protocols  # noqa: F401  (registers the paper's crop schemes, recipes, protocols and tables)
from repro import __version__, commands
from repro.errors import ReproError


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):  # shared option helpers, not commands
            continue
        yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="repro", description="Reproduce GoogLeNet (Szegedy et al. 2014) on ILSVRC.")
    parser.add_argument("--version", action="version", version=f"repro {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `repro` console script; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ReproError as exc:
        print(f"repro {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader closed the pipe early (e.g. `repro crops --json | head`): not an error.
        sys.stderr.close()
        return 0
