"""clockbench analysis: read, verify and explain clockbench HDF5 run files.

The one file format it reads, clockbench/1, is defined in schema/clockbench-1.json (docs/schema.md)
and loaded by clockbench.schema (SCHEMA, the tables of names)."""
