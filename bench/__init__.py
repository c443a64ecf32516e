"""Benchmarks: each file runs on its own (python bench/<name>.py) and prints a table; none is a test."""
