"""The queueing and clock theory: predictions from the parameters alone, and the checks against a run (docs/theory.md)."""
