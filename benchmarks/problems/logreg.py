"""Per-example gradients of logistic regression: vmap(grad(loss), in_axes=(None, 0, 0)).

loss(w, x, y) is one example's negative log-likelihood; the result is the (examples, features)
matrix of its gradients w.r.t. w, and the primal the vector of per-example losses.
"""
import functools
import math

import numba
import numpy as np

from benchmarks.harness import Impl, Row, Size
from benchmarks.tools import LazyModule

jax = LazyModule("jax")
jnp = LazyModule("jax.numpy")
torch = LazyModule("torch")
torch_func = LazyModule("torch.func")
anp = LazyModule("autograd.numpy")
autograd = LazyModule("autograd")

TITLE = "Per-example gradients of logistic regression"
IN_AXES = (None, 0, 0)


# ---- the user's function, plain NumPy: what transpile consumes --------------------------------

def loss(w, x, y):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


# ---- sizes and data -----------------------------------------------------------------------------

def sizes(quick):
    n = 512 if quick else 4096
    return [Size(f"{n} examples x 100 features", n * 100, {"n": n, "f": 100})]


def check_sizes():
    return [Size("20 examples x 7 features", 0, {"n": 20, "f": 7})]


def make_args(size):
    n, f = size.params["n"], size.params["f"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, f)) / math.sqrt(f)
    w_true = rng.standard_normal(f)
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-(x @ w_true)))).astype(np.float64)
    w = rng.standard_normal(f)
    return w, x, y


def plain_primal(args):
    w, x, y = args
    return np.array([loss(w, x[i], y[i]) for i in range(x.shape[0])])


# ---- hand-written Numba: one gemv, then a loop -------------------------------------------------

@numba.njit(cache=True)
def numba_losses(w, x, y):
    z = np.dot(x, w)
    out = np.empty_like(z)
    for i in range(z.shape[0]):
        p = 1.0 / (1.0 + math.exp(-z[i]))
        out[i] = -(y[i] * math.log(p) + (1.0 - y[i]) * math.log(1.0 - p))
    return out


@numba.njit(cache=True)
def numba_per_example_grads(w, x, y):
    z = np.dot(x, w)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        g = 1.0 / (1.0 + math.exp(-z[i])) - y[i]
        for j in range(x.shape[1]):
            out[i, j] = g * x[i, j]
    return out


@numba.njit(cache=True, parallel=True)
def numba_per_example_grads_parallel(w, x, y):
    z = np.dot(x, w)
    out = np.empty_like(x)
    for i in numba.prange(x.shape[0]):
        g = 1.0 / (1.0 + math.exp(-z[i])) - y[i]
        for j in range(x.shape[1]):
            out[i, j] = g * x[i, j]
    return out


def reference(args):
    return {"primal": numba_losses(*args), "grad": numba_per_example_grads(*args)}


def build_numba(size, args):
    return Impl(grad=lambda: numba_per_example_grads(*args), primal=lambda: numba_losses(*args))


def build_numba_parallel(size, args):
    return Impl(grad=lambda: numba_per_example_grads_parallel(*args))


# ---- transpile: both vmap strategies, serial and with jit(parallel=True) -------------------------

def transpile_builder(method, parallel=False):
    def build(size, args):
        import transpile as tp

        grad = tp.jit(tp.vmap(tp.grad(loss), in_axes=IN_AXES, method=method), parallel=parallel)
        primal = tp.jit(tp.vmap(loss, in_axes=IN_AXES, method=method), parallel=parallel)
        return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))
    return build


# ---- JAX, torch.func and autograd ---------------------------------------------------------------

def loss_xp(xp, w, x, y):
    p = 1.0 / (1.0 + xp.exp(-(x @ w)))
    return -(y * xp.log(p) + (1.0 - y) * xp.log(1.0 - p))


def build_jax(size, args):
    f = functools.partial(loss_xp, jnp)
    grad = jax.jit(jax.vmap(jax.grad(f), in_axes=IN_AXES))
    primal = jax.jit(jax.vmap(f, in_axes=IN_AXES))
    data = [jnp.asarray(a) for a in args]
    return Impl(grad=lambda: jax.block_until_ready(grad(*data)),
                primal=lambda: jax.block_until_ready(primal(*data)))


def build_torch(size, args):
    f = functools.partial(loss_xp, torch)
    grad = torch_func.vmap(torch_func.grad(f), in_dims=IN_AXES)
    primal = torch_func.vmap(f, in_dims=IN_AXES)
    data = [torch.from_numpy(a) for a in args]
    return Impl(grad=lambda: grad(*data), primal=lambda: primal(*data))


def build_autograd(size, args):
    """autograd has no vmap: a loop over examples (the primal runs vectorised, as NumPy would)."""
    w, x, y = args
    f = functools.partial(loss_xp, anp)
    grad = autograd.grad(f)
    return Impl(grad=lambda: np.stack([grad(w, x[i], y[i]) for i in range(x.shape[0])]),
                primal=lambda: f(w, x, y))


def rows():
    return [
        Row("numba (hand-written)", "numba", build_numba),
        Row("transpile (vectorize)", "transpile", transpile_builder("vectorize")),
        Row("transpile (loop)", "transpile", transpile_builder("loop")),
        Row("transpile (vectorize, parallel)", "transpile", transpile_builder("vectorize", parallel=True)),
        Row("transpile (loop, parallel)", "transpile", transpile_builder("loop", parallel=True)),
        Row("numba (hand-written, prange)", "numba", build_numba_parallel),
        Row("jax", "jax", build_jax),
        Row("torch (torch.func)", "torch", build_torch),
        Row("autograd (loop)", "autograd", build_autograd),
    ]
