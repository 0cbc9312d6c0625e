"""What the analysis writes for people: tables, plots, summary, report, notebook, scaling study, space-time diagrams, exports."""
