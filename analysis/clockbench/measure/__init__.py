"""What a run file measures: metrics on the god's-eye grid, distributions, causality."""
