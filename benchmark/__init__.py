"""redbench.benchmark: prediction store, metrics, breakdowns, compare, leaderboards, plots, regression check."""
