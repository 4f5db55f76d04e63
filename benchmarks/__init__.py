"""Benchmarks: scripts that report ratios and counts, never timed assertions."""
