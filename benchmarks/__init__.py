"""The benchmark suite of lambda_runtime: `python -m benchmarks [--quick]` (see docs/benchmarks.md)."""
