"""Metrics computed from stores and submissions: top-k error, intervals, paired tests, ILSVRC DET scoring."""
