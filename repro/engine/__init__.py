"""Batched, pipelined inference; the probability store; manifests."""
