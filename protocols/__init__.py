"""The paper's procedures as small declarative, registered data: crop schemes, training recipes and
the ensemble plan, the detection protocol, the datasets, and the paper's Tables 1-5 (``paper``) with
the writers that put them beside measured values. Importing this package registers all of them in
the engine's registries (:mod:`repro.engine.crops`, :mod:`repro.train.recipe`, :mod:`repro.detect.specs`,
:mod:`repro.data.datasets`, :mod:`repro.tables`)."""
from protocols import (  # noqa: F401
    architecture,
    canary_tables,
    classification,
    datasets,
    detection,
    detection_tables,
    multicrop,
    tables,
    training,
)
