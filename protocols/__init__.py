"""The paper's procedures as small declarative modules: tables, crop schemes, ensembles, training, datasets."""
