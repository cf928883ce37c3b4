"""Training: recipe specs, patch sampling and schedule, Polyak averaging, checkpoints, the
parameter-server kvstore and a local launcher. The paper's recipes are registered as data by the
protocol layer."""
