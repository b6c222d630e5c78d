"""Call overhead: the gradient of sin(x) x + 1 at a Python float, one call at a time.

What is timed is the whole call from Python: argument conversion, dispatch, the (tiny) work and
the result. The Numba row is a hand-written derivative, cos(x) x + sin(x), in an njit function.
"""
import math

import numba

from benchmarks.harness import Impl, Row, Size
from benchmarks.tools import LazyModule

jax = LazyModule("jax")
jnp = LazyModule("jax.numpy")
torch = LazyModule("torch")
anp = LazyModule("autograd.numpy")
autograd = LazyModule("autograd")

TITLE = "Call overhead: grad of sin(x)*x + 1 at a Python float"
X = 0.7


# ---- the user's function, plain Python: what transpile consumes ------------------------------

def f(x):
    return math.sin(x) * x + 1.0


# ---- sizes and data -----------------------------------------------------------------------------

def sizes(quick):
    return [Size("scalar", 1, {})]


def check_sizes():
    return sizes(quick=True)


def make_args(size):
    return (X,)


def plain_primal(args):
    return f(*args)


# ---- hand-written Numba -------------------------------------------------------------------------

numba_f = numba.njit(cache=True)(f)


@numba.njit(cache=True)
def numba_df(x):
    return math.cos(x) * x + math.sin(x)


def reference(args):
    return {"primal": numba_f(*args), "grad": numba_df(*args)}


def build_numba(size, args):
    return Impl(grad=lambda: numba_df(X), primal=lambda: numba_f(X))


# ---- transpile and the peers ---------------------------------------------------------------------

def build_transpile(size, args):
    import transpile as tp

    grad = tp.jit(tp.grad(f))
    primal = tp.jit(f)
    return Impl(grad=lambda: grad(X), primal=lambda: primal(X))


def f_jax(x):
    return jnp.sin(x) * x + 1.0


def build_jax(size, args):
    grad = jax.jit(jax.grad(f_jax))
    primal = jax.jit(f_jax)
    return Impl(grad=lambda: grad(X).block_until_ready(), primal=lambda: primal(X).block_until_ready())


def build_torch(size, args):
    def grad():
        x = torch.tensor(X, requires_grad=True)
        return torch.autograd.grad(torch.sin(x) * x + 1.0, x)[0]

    def primal():
        with torch.no_grad():
            x = torch.tensor(X)
            return torch.sin(x) * x + 1.0

    return Impl(grad=grad, primal=primal)


def f_autograd(x):
    return anp.sin(x) * x + 1.0


def build_autograd(size, args):
    grad = autograd.grad(f_autograd)
    return Impl(grad=lambda: grad(X), primal=lambda: f_autograd(X))


def rows():
    return [
        Row("numba (hand-written derivative)", "numba", build_numba),
        Row("transpile", "transpile", build_transpile),
        Row("jax (jit)", "jax", build_jax),
        Row("torch (eager)", "torch", build_torch),
        Row("autograd", "autograd", build_autograd),
    ]
