"""The run file: reading (schema), writing (run_file, config_text), checking (verify and its rules) and recovering it."""
