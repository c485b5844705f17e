"""The DVC pipeline, derived rather than typed: the import graph of the project's code (imports.py) and the
writer of dvc.yaml and params.yaml from the methods table, the datasets table and that graph."""
