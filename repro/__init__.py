"""repro: the engine of the GoogLeNet reproduction harness (models, data, stores, metrics, reports)."""

__version__ = "0.1.0"
