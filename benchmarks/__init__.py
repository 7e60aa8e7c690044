"""Benchmarks: side-by-side measurements, each printing its ratio on its last line.

Run them all with `make bench` (or `python -m benchmarks`), a small smoke run with
`python -m benchmarks --quick`, one of them with `python -m benchmarks NAME`. They are
measurements, not tests: they report, and fail only when a benchmark could not run.
This package stays import-light: the dynamic provider process imports
`benchmarks.noop_provider` from it.
"""
