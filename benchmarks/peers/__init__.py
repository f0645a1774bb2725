"""Servers the benchmarks run as separate processes, one per implementation compared."""
