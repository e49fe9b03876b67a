"""Benchmarks (`make bench`): speed and quality figures printed and saved to bench/results.json."""
