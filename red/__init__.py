"""redbench.red: the RED model (Peng et al., ECCV 2016), its losses, training and inference."""
