"""Euler-integrated damped, driven oscillator: a scalar state in a Python `for` loop.

    x'' = amplitude cos(OMEGA t) - damping x' - stiffness x,   x(0) = 1, x'(0) = 0,

integrated over [0, T_END] with N explicit Euler steps; the loss is the integral of x^2 over the
trajectory (sum of dt x_i^2), its gradient taken w.r.t. (damping, stiffness, amplitude), three
Python floats. The same plain function runs unchanged under transpile, JAX (the loop unrolled at
trace time), PyTorch (0-d tensors) and autograd; JAX also runs a `lax.fori_loop` version.
"""
import functools
import math

import numba
import numpy as np

from benchmarks.harness import Impl, Row, Size
from benchmarks.tools import LazyModule

jax = LazyModule("jax")
jnp = LazyModule("jax.numpy")
lax = LazyModule("jax.lax")
torch = LazyModule("torch")
autograd = LazyModule("autograd")

TITLE = "Euler-integrated damped driven oscillator: gradient w.r.t. 3 floats"
OMEGA = 1.3
T_END = 10.0
ARGNUMS = (0, 1, 2)
STEPS = (100, 1_000, 10_000, 100_000)


# ---- the user's function, plain Python: what transpile consumes ------------------------------

def euler_loss(damping, stiffness, amplitude, n):
    dt = T_END / n
    x = 1.0
    v = 0.0
    loss = 0.0
    for i in range(n):
        a = amplitude * math.cos(OMEGA * i * dt) - damping * v - stiffness * x
        x = x + dt * v
        v = v + dt * a
        loss = loss + dt * x * x
    return loss


# ---- sizes and data -----------------------------------------------------------------------------

def sizes(quick):
    return [Size(f"N={n}", n, {"n": n}) for n in (STEPS[:1] if quick else STEPS)]


def check_sizes():
    return [Size("N=50", 0, {"n": 50})]


def make_args(size):
    return 0.3, 2.0, 0.5, size.params["n"]


def plain_primal(args):
    return euler_loss(*args)


# ---- hand-written Numba primal and adjoint ------------------------------------------------------

@numba.njit(cache=True)
def numba_loss(damping, stiffness, amplitude, n):
    dt = T_END / n
    x, v, loss = 1.0, 0.0, 0.0
    for i in range(n):
        a = amplitude * math.cos(OMEGA * i * dt) - damping * v - stiffness * x
        x, v = x + dt * v, v + dt * a
        loss += dt * x * x
    return loss


@numba.njit(cache=True)
def numba_gradient(damping, stiffness, amplitude, n):
    dt = T_END / n
    xs = np.empty(n)  # tape: the state before each step, and the drive
    vs = np.empty(n)
    drive = np.empty(n)
    x, v = 1.0, 0.0
    for i in range(n):
        xs[i], vs[i] = x, v
        drive[i] = math.cos(OMEGA * i * dt)
        a = amplitude * drive[i] - damping * v - stiffness * x
        x, v = x + dt * v, v + dt * a
    d_x = d_v = 0.0  # adjoints of the state after step i
    d_damping = d_stiffness = d_amplitude = 0.0
    for i in range(n - 1, -1, -1):
        d_x += 2.0 * dt * (xs[i] + dt * vs[i])  # loss += dt x_{i+1}^2
        d_a = dt * d_v  # v_{i+1} = v_i + dt a_i
        d_amplitude += d_a * drive[i]
        d_damping -= d_a * vs[i]
        d_stiffness -= d_a * xs[i]
        d_x, d_v = d_x - stiffness * d_a, d_v + dt * d_x - damping * d_a  # x_{i+1} = x_i + dt v_i
    return d_damping, d_stiffness, d_amplitude


def reference(args):
    return {"primal": numba_loss(*args), "grad": numba_gradient(*args)}


def build_numba(size, args):
    return Impl(grad=lambda: numba_gradient(*args), primal=lambda: numba_loss(*args))


# ---- transpile -----------------------------------------------------------------------------------

def build_transpile(size, args):
    import transpile as tp

    grad = tp.jit(tp.grad(euler_loss, argnums=ARGNUMS))
    primal = tp.jit(euler_loss)
    return Impl(grad=lambda: grad(*args), primal=lambda: primal(*args))


# ---- JAX: the Python loop unrolled under jit, and lax.fori_loop --------------------------------

def euler_loss_fori(damping, stiffness, amplitude, n):
    dt = T_END / n

    def body(i, carry):
        x, v, loss = carry
        a = amplitude * jnp.cos(OMEGA * i * dt) - damping * v - stiffness * x
        x, v = x + dt * v, v + dt * a
        return x, v, loss + dt * x * x

    return lax.fori_loop(0, n, body, (1.0, 0.0, 0.0))[2]


def _build_jax(loss, args):
    *params, n = args
    f = functools.partial(loss, n=n)
    grad = jax.jit(jax.grad(f, argnums=ARGNUMS))
    primal = jax.jit(f)
    return Impl(grad=lambda: jax.block_until_ready(grad(*params)),
                primal=lambda: jax.block_until_ready(primal(*params)))


def build_jax_unrolled(size, args):
    return _build_jax(euler_loss, args)


def build_jax_fori(size, args):
    return _build_jax(euler_loss_fori, args)


# ---- PyTorch (eager, 0-d tensors) and autograd, both on the plain function ---------------------

def build_torch(size, args):
    *params, n = args

    def grad():
        leaves = [torch.tensor(p, requires_grad=True) for p in params]
        return torch.autograd.grad(euler_loss(*leaves, n), leaves)

    def primal():
        with torch.no_grad():
            return euler_loss(*[torch.tensor(p) for p in params], n)

    return Impl(grad=grad, primal=primal)


def build_autograd(size, args):
    grad = autograd.grad(euler_loss, ARGNUMS)
    return Impl(grad=lambda: grad(*args), primal=lambda: euler_loss(*args))


def rows():
    return [
        Row("numba (hand-written)", "numba", build_numba),
        Row("transpile", "transpile", build_transpile),
        Row("jax (fori_loop)", "jax", build_jax_fori),
        Row("jax (unrolled loop)", "jax", build_jax_unrolled, fresh=True, compile_grows=True),
        Row("torch", "torch", build_torch),
        Row("autograd", "autograd", build_autograd),
    ]
