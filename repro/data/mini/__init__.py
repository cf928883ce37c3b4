"""The mini-ILSVRC generator: synthetic images written in the real ILSVRC layouts and formats
(:mod:`repro.data.ilsvrc.layout`), so the real readers read it unchanged."""
