"""The repository's development kit, shared by `make demo`, the benchmarks and the tests; not shipped.

`demo` is `make demo` (the main job, end to end); `pulumi_local` runs the Pulumi CLI against a
throwaway file backend; `provider_process` drives `python -m pulumi.dynamic` and the native
plugin over gRPC as the engine does; `redis_server` starts a real redis-server on a free
loopback port. Import it as `devkit.<module>` from the repository root (pytest, `python -m`).
"""
