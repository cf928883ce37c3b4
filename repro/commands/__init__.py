"""One module per `repro` sub-command.

Each module defines ``NAME`` (the sub-command), ``HELP`` (one line), ``configure(parser)`` and
``run(args) -> int``. Modules are discovered by :mod:`repro.cli`; they import heavy libraries (MXNet,
pandas) inside ``run`` so that ``repro --help`` stays fast.
"""
