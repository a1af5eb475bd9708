"""Benchmarks for ed-alerts: `make bench` (benchmarks/run.py). See benchmarks/README.md."""
