"""redbench.baselines: static-image face-alignment methods and temporal post-processing of their outputs."""
