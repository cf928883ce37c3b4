"""The report's sections in reading order; each builds one Section (or None) from the context."""
from __future__ import annotations

from repro.report.sections import (
                                   architecture,
                                   canary,
                                   classification,
                                   comparison,
                                   detection,
                                   provenance,
                                   summary,
                                   throughput,
                                   training,
)

BUILDERS = (summary.section, comparison.section, architecture.section, classification.section,
            canary.section, detection.section, training.section, throughput.section, provenance.section)
