"""redbench.datasets: raw formats (300-W, 300-VW, Talking Face), fetch, synthetic data, HDF5 clip shards, loaders."""
