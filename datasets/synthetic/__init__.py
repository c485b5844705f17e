"""Synthetic face videos written in the raw layouts of 300-W, 300-VW and Talking Face (the embedded default)."""
