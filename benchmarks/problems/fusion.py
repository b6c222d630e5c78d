"""An elementwise chain ending in a sum over 10^7 elements, and its gradient: what fusion is for.

NumPy (and Numba compiling the same array expressions) allocates a temporary and sweeps memory
for each of the six operations; a fused loop reads x and w once. Rows compare transpile with and
without fusion against NumPy, Numba's njit of the array code (serial and parallel=True), a
hand-written Numba loop, and jax.jit.
"""
import numba
import numpy as np

from benchmarks.harness import Impl, Row, Size
from benchmarks.tools import LazyModule

jax = LazyModule("jax")
jnp = LazyModule("jax.numpy")

TITLE = "Fusion: sum(exp(-(x - m)^2 / s) * w) over 10^7 elements; gradient w.r.t. x"
ARGNUMS = (0,)


# ---- the user's function: plain NumPy ---------------------------------------------------------

def gaussian_weighted_sum(x, m, s, w):
    return np.sum(np.exp(-(x - m) ** 2 / s) * w)


def sizes(quick):
    n = 1_000_000 if quick else 10_000_000
    return [Size(f"n={n:,}", n, {"n": n})]


def check_sizes():
    return [Size("n=100", 0, {"n": 100})]


def make_args(size):
    rng = np.random.default_rng(0)
    n = size.params["n"]
    return rng.standard_normal(n), 0.3, 0.5, rng.uniform(0.0, 1.0, n)


def plain_primal(args):
    return gaussian_weighted_sum(*args)


# ---- hand-written Numba: one loop for the value, one for the gradient ----------------------------

@numba.njit(cache=True)
def numba_value(x, m, s, w):
    total = 0.0
    for i in range(x.shape[0]):
        total += np.exp(-(x[i] - m) ** 2 / s) * w[i]
    return total


@numba.njit(cache=True)
def numba_gradient(x, m, s, w):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        d = x[i] - m
        out[i] = np.exp(-d * d / s) * w[i] * (-2.0 * d / s)
    return out


def reference(args):
    return {"primal": numba_value(*args), "grad": numba_gradient(*args)}


def build_numba(size, args):
    return Impl(grad=lambda: numba_gradient(*args), primal=lambda: numba_value(*args))


def build_numpy(size, args):
    def grad():
        x, m, s, w = args
        d = x - m
        return np.exp(-d ** 2 / s) * w * (-2.0 * d / s)
    return Impl(grad=grad, primal=lambda: gaussian_weighted_sum(*args))


def numba_array_builder(parallel):
    def build(size, args):
        primal = numba.njit(parallel=parallel)(gaussian_weighted_sum)

        @numba.njit(parallel=parallel)
        def grad(x, m, s, w):
            d = x - m
            return np.exp(-d ** 2 / s) * w * (-2.0 * d / s)
        return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))
    return build


def transpile_builder(fuse, parallel=False):
    def build(size, args):
        import transpile as tp

        grad = tp.jit(tp.grad(gaussian_weighted_sum), fuse=fuse, parallel=parallel)
        primal = tp.jit(gaussian_weighted_sum, fuse=fuse, parallel=parallel)
        return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))
    return build


def build_jax(size, args):
    def f(x, m, s, w):
        return jnp.sum(jnp.exp(-(x - m) ** 2 / s) * w)
    grad = jax.jit(jax.grad(f))
    primal = jax.jit(f)
    x, m, s, w = args
    data = (jnp.asarray(x), m, s, jnp.asarray(w))
    return Impl(grad=lambda: jax.block_until_ready(grad(*data)),
                primal=lambda: jax.block_until_ready(primal(*data)))


def rows():
    return [
        Row("numba (hand-written loop)", "numba", build_numba),
        Row("transpile (fused)", "transpile", transpile_builder(True)),
        Row("transpile (fuse=False)", "transpile", transpile_builder(False)),
        Row("transpile (fused, parallel)", "transpile", transpile_builder(True, parallel=True)),
        Row("numpy", "numba", build_numpy),
        Row("numba njit (array code)", "numba", numba_array_builder(False)),
        Row("numba njit (array code, parallel)", "numba", numba_array_builder(True)),
        Row("jax", "jax", build_jax),
    ]
