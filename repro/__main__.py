"""`python -m repro` is the same as the `repro` console script."""
import sys

from repro.cli import main

sys.exit(main())
