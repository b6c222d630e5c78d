"""Loop checkpointing: the gradient of the Euler loop (problems/euler.py) with and without
`tp.checkpoint(euler_loss, every=...)`, which keeps the loop's state every k-th step instead of
every step and recomputes the steps in between in the backward pass.

In the runner's table: the gradient's time under `tp.jit`. Its tape memory is printed by
`python -m benchmarks.checkpoint_memory [N]` (with the time): the peak that tracemalloc sees while the same
generated code runs as Python (target "python"), where the tapes are NumPy arrays; under Numba
the buffers have the same sizes but are allocated where tracemalloc cannot see them.
"""
import tracemalloc

from benchmarks.harness import Impl, Row, Size
from benchmarks.problems import euler
from benchmarks.problems.euler import ARGNUMS, euler_loss

TITLE = "Loop checkpointing: gradient of the Euler loop, plain tape vs tp.checkpoint(every=...)"
STEPS = 100_000
VARIANTS = {"plain tape": None, "checkpoint(every=100)": 100, "checkpoint(every='sqrt')": "sqrt"}

check_sizes = euler.check_sizes
make_args = euler.make_args
plain_primal = euler.plain_primal
reference = euler.reference


def sizes(quick):
    return [Size(f"N={n}", n, {"n": n}) for n in ((1_000,) if quick else (STEPS,))]


def gradient(every, target="cpu"):
    """The gradient of euler_loss, its loop checkpointed every `every` steps (None: not at all)."""
    import transpile as tp

    fun = euler_loss if every is None else tp.checkpoint(euler_loss, every=every)
    grad = tp.grad(fun, argnums=ARGNUMS)
    return tp.jit(grad) if target == "cpu" else grad


def _row(every):
    def build(size, args):
        grad = gradient(every)
        return Impl(grad=lambda: grad(*args))
    return build


def rows():
    return [Row("numba (hand-written)", "numba", euler.build_numba)] + [
        Row(f"transpile, {name}", "transpile", _row(every)) for name, every in VARIANTS.items()]


def tape_peak_bytes(every, args):
    """tracemalloc's peak during one gradient call run as Python (after a warm-up call)."""
    grad = gradient(every, target="python")
    grad(*args)
    tracemalloc.start()
    try:
        grad(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
