"""Dataset readers: ILSVRC classification and detection label formats, robust image decoding, the mini-ILSVRC."""
