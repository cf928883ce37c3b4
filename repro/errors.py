"""The one exception type the CLI turns into a clean one-line error (exit status 2)."""


class ReproError(Exception):
    """A user-facing error: the message names the file, line or id at fault and what to do."""


class LabelError(ReproError):
    """A label file or index that is malformed or inconsistent; the message names file and line."""
