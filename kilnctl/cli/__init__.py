"""Command-line interface: each `cmd_*.py` module here adds one or more subcommands."""
