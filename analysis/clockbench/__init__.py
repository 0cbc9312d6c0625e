"""clockbench analysis: read, verify and explain clockbench HDF5 run files."""

# The one file format this package reads; see docs/schema.md.
SCHEMA = "clockbench/1"

__all__ = ["SCHEMA"]
