"""Progress bars that suit where the output goes.

On a terminal, a tqdm bar redrawn in place. Anywhere else (CI, `nox` logs, `tee`, a file) a redrawn
bar becomes hundreds of carriage-return updates on one log line, so the same tqdm meter is printed as
a plain line at most every 5% of the work or every 30 s, and once at the end.
"""
from __future__ import annotations

import sys
import time

from tqdm import tqdm

LINE_EVERY_PERCENT = 5
LINE_EVERY_SECONDS = 30.0


class LineProgress(tqdm):
    """tqdm that prints its meter as whole lines, every few percent or seconds, never redrawing."""

    def __init__(self, *args, **kwargs):
        self._shown_step, self._shown_time, self._shown_n = -1, float("-inf"), -1
        kwargs.setdefault("mininterval", 1.0)
        super().__init__(*args, **kwargs)

    def display(self, msg=None, pos=None):  # noqa: ARG002 (tqdm's signature)
        if msg == "" or self.disable:  # tqdm clearing a bar: there is no bar to clear
            return False
        now = time.monotonic()
        step = int(100 * self.n / self.total // LINE_EVERY_PERCENT) if self.total else 0
        finished = bool(self.total) and self.n >= self.total
        due = step > self._shown_step or now - self._shown_time >= LINE_EVERY_SECONDS or finished
        if due and self.n != self._shown_n:
            self._shown_step, self._shown_time, self._shown_n = step, now, self.n
            self.fp.write(self.format_meter(**self.format_dict) + "\n")
            self.fp.flush()
        return True

    def close(self):
        """Print the last line if it is not out yet, without tqdm's trailing newline or ``\\r``."""
        if not self.disable and self.leave and self.n != self._shown_n:
            self._shown_time = float("-inf")
            self.display()
        self.leave = False
        super().close()


def progress_bar(enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm bar (``kwargs`` as for tqdm) on a terminal, plain lines elsewhere, nothing if not
    ``enabled``."""
    if not enabled:
        return tqdm(disable=True, **kwargs)
    stream = kwargs.get("file") or sys.stderr
    cls = tqdm if getattr(stream, "isatty", lambda: False)() else LineProgress
    return cls(**kwargs)
