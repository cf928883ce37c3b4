"""A property of the whole command line, read from the argparse definitions (a new option is covered
without new code): every option that takes a value declares its domain with a type of
repro.commands._types (or choices), and every value outside it -- 0 or -1 where the domain excludes
them, a non-number, an empty text, a missing input path, an output path that cannot be written -- is
exit status 2 with one line naming the option, and no traceback."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from repro.cli import build_parser, main
from repro.commands._types import Number, PathType

pytestmark = pytest.mark.faults

VALUELESS = (argparse._HelpAction, argparse._VersionAction, argparse._StoreTrueAction,
             argparse._StoreFalseAction, argparse._SubParsersAction)


def _options(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """(command words, action) for every value-taking option of every (nested) sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, words + (name,))
        elif not isinstance(action, VALUELESS) and action.nargs != argparse.REMAINDER:
            yield words, action


OPTIONS = list(_options(build_parser()))
IDS = [" ".join(words) + " " + (action.option_strings[0] if action.option_strings else action.dest)
       for words, action in OPTIONS]


def test_the_walk_finds_every_command_and_the_options_the_issue_names():
    commands = {words[0] for words, _ in OPTIONS}
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert commands == set(sub.choices)  # every command has value options
    named = {(w[0], a.option_strings[0]) for w, a in OPTIONS if a.option_strings}
    for case in [("evaluate", "--chunk-images"), ("evaluate", "--width"), ("evaluate", "--batch-size"),
                 ("arch", "--input-size"), ("det-eval", "--csv"), ("audit", "--store"),
                 ("audit", "--images"), ("audit", "--sample"), ("ensemble", "--store"),
                 ("labels", "--meta"), ("evaluate", "--interpolation")]:
        assert case in named, case


@pytest.mark.parametrize("words, action", OPTIONS, ids=IDS)
def test_every_value_option_declares_its_domain(words, action):
    assert action.choices is not None or (
        action.type not in (None, int, float, str) and action.type.__module__.startswith("repro.commands")
    ), (f"repro {' '.join(words)} {action.option_strings or action.dest}: declare its type from "
        f"repro.commands._types (a checked number, path or text) or give choices")


def _bad_values(action, tmp_path) -> list[str]:
    """The values outside ``action``'s declared domain (each must be refused)."""
    kind = action.type
    if isinstance(kind, Number):
        values = ["abc", "-1", "1e400x"]  # no option of this CLI takes a negative number
        if kind.minimum != 0:
            values.append("0")
        if kind.kind is float:
            values += ["nan", "inf"]
        return values
    if isinstance(kind, PathType):
        if kind.must_exist:
            return [str(tmp_path / "missing" / "nothing.here"), ""]
        if kind.writable:
            a_file = tmp_path / "a_file"
            a_file.write_text("not a folder")
            return [str(a_file / "out"), "/proc/repro-not-writable/out", ""]
        return [""]
    if action.choices is not None:
        return ["not-a-choice"]
    return [""]  # text: an empty value


def _argv(words, action, value: str) -> list[str]:
    return [*words, value] if not action.option_strings else [*words, f"{action.option_strings[0]}={value}"]


@pytest.mark.parametrize("words, action", OPTIONS, ids=IDS)
def test_every_value_outside_an_options_domain_is_one_line_exit_2(words, action, tmp_path, capsys):
    name = action.option_strings[0] if action.option_strings else action.metavar or action.dest
    for value in _bad_values(action, tmp_path):
        status = main(_argv(words, action, value))
        err = capsys.readouterr().err.strip()
        assert status == 2, (words, name, value, err)
        assert len(err.splitlines()) == 1, err
        assert name in err and "Traceback" not in err, err


def test_a_real_process_of_every_command_refuses_a_bad_value_in_one_line(tmp_path):
    """The same, once per command, as a user runs it: `python -m repro ...` in its own process."""
    first = {}
    for words, action in sorted(OPTIONS, key=lambda o: not isinstance(o[1].type, Number)):
        if words[0] not in first and action.option_strings:
            first[words[0]] = _argv(words, action, _bad_values(action, tmp_path)[0])
    assert len(first) == len({words[0] for words, _ in OPTIONS})
    for argv in first.values():
        done = subprocess.run([sys.executable, "-m", "repro", *argv], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, (argv, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
        assert argv[-1].split("=")[0] in done.stderr
