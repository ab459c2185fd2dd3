"""Benchmarks that print ratios (run all with `python -m bench`, or one module directly)."""
