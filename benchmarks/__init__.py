"""Benchmarks of transpile against JAX, PyTorch, autograd and hand-written Numba: `python -m benchmarks`."""
