"""Progress output: a redrawn bar on a terminal, plain lines every few percent elsewhere."""
from __future__ import annotations

import io

from tqdm import tqdm

from repro.progress import LINE_EVERY_PERCENT, LineProgress, progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(stream, total=1000, **kwargs) -> str:
    with progress_bar(True, total=total, desc="work", unit="img", file=stream, mininterval=0, **kwargs) as bar:
        for _ in range(total):
            bar.update(1)
    return stream.getvalue()


def test_plain_lines_when_not_a_terminal():
    out = _run(io.StringIO())
    lines = out.splitlines()
    assert "\r" not in out
    assert len(lines) <= 100 // LINE_EVERY_PERCENT + 2  # 0%, every 5%, nothing twice
    assert len(lines) >= 100 // LINE_EVERY_PERCENT  # and not just the last one
    assert lines[0].startswith("work:   0%") and "1000/1000" in lines[-1]
    assert sum("1000/1000" in line for line in lines) == 1


def test_unfinished_work_shows_where_it_stopped():
    stream = io.StringIO()
    bar = progress_bar(True, total=100, desc="work", file=stream, mininterval=0)
    bar.update(42)
    bar.close()
    assert stream.getvalue().splitlines()[-1].startswith("work:  42%")


def test_a_bar_not_kept_leaves_its_lines_and_no_carriage_return():
    out = _run(io.StringIO(), total=50, leave=False)
    assert "\r" not in out and "50/50" in out.splitlines()[-1]


def test_terminal_gets_tqdm_redrawn_bar():
    stream = _Terminal()
    bar = progress_bar(True, total=10, file=stream)
    assert type(bar) is tqdm and not isinstance(bar, LineProgress)
    bar.close()
    assert "\r" in stream.getvalue()


def test_disabled_prints_nothing():
    stream = io.StringIO()
    with progress_bar(False, total=10, file=stream) as bar:
        bar.update(10)
    assert stream.getvalue() == ""
