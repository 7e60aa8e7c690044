"""Helpers only the tests use (the harness they share with the demo and the benchmarks is `devkit`)."""
