"""Training: the paper's sampling and schedule, Polyak averaging, checkpoints, the parameter-server
kvstore and a local launcher. The recipes themselves are data in :mod:`protocols.training`."""
