"""Performance benchmark (`repro bench`): bare network, end to end, peers, precision modes, machine peak.

Nothing here is imported by the engine; the benchmark drives the engine and the execution backends
from outside, as a user would.
"""
