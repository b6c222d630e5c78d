"""Compile time of jit(grad(f)) for the Euler loop as the number of steps N grows.

Every row runs in a fresh process (transpile with an empty TRANSPILE_CACHE_DIR, Numba without a
cache), after a trivial function has initialised the tool, so that the first call measures the
transformation and compilation of this function. transpile keeps the loop a loop, so its compile
time should not depend on N; JAX unrolls a Python loop at trace time. A row whose first call
exceeds the compile limit (or is projected to, at N times the previous N) is not tried further.
"""
from benchmarks.harness import Row
from benchmarks.problems import euler

TITLE = "Compile (first-call) time of jit(grad(euler_loss)) vs N, fresh process each"
FIRST_CALL_TABLE = True

sizes = euler.sizes
check_sizes = euler.check_sizes
make_args = euler.make_args
plain_primal = euler.plain_primal
reference = euler.reference


def rows():
    return [
        Row("numba (hand-written)", "numba", euler.build_numba, fresh=True),
        Row("transpile", "transpile", euler.build_transpile, fresh=True),
        Row("jax (unrolled loop)", "jax", euler.build_jax_unrolled, fresh=True, compile_grows=True),
        Row("jax (fori_loop)", "jax", euler.build_jax_fori, fresh=True),
    ]
