"""The dev harness shared by the tests, the benchmarks and `make demo`: not part of the package.

`pulumi_local` runs the Pulumi CLI against a throwaway file backend; `provider_process`
drives `python -m pulumi.dynamic` over gRPC as the engine does; `demo` is `make demo`.
Import it as `tests.support.<module>` from the repository root (pytest, `python -m`).
"""
