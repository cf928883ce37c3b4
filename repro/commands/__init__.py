"""One module per `repro` sub-command.

Each module defines ``NAME`` (the sub-command), ``HELP`` (one line), ``configure(parser)`` and
``run(args) -> int``. Modules are discovered by :mod:`repro.cli`; they import heavy libraries (MXNet,
pandas) inside ``run`` so that ``repro --help`` stays fast. Modules whose name starts with ``_`` hold options shared by
several commands and are not commands themselves.
"""
