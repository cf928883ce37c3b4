"""`repro <command>`: discovers the sub-commands in :mod:`repro.commands` and runs one."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import protocols  # noqa: F401  (registers the paper's crop schemes, recipes, protocols and tables)
from repro import __version__, commands
from repro.compute_threads import claim_cores, claim_engine
from repro.errors import ReproError


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):  # shared option helpers, not commands
            continue
        yield importlib.import_module(f"{commands.__name__}.{info.name}")


class _Parser(argparse.ArgumentParser):
    """Parse errors as one line naming the option (argparse prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-parser per command module (all of them :class:`_Parser`)."""
    parser = _Parser(
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
    """Entry point of the `repro` console script; returns the process exit status.

    Bad options and a :class:`ReproError` are exit status 2 with one message; Ctrl-C (SIGINT) is 130
    with a note that the command resumes (stores, checkpoints and outputs are written atomically,
    so an interrupted run leaves only complete files). The compute threads are sized first, before
    any command imports MXNet (:func:`repro.compute_threads.claim_cores`), and so is MXNet's engine
    (:func:`repro.compute_threads.claim_engine`).
    """
    claim_cores()
    claim_engine()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args._run(args) or 0)
    except ReproError as exc:
        print(f"repro {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nrepro {args.command}: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader closed the pipe early (e.g. `repro crops --json | head`): not an error.
        sys.stderr.close()
        return 0
