"""tp.checkpoint: checkpointed gradients equal plain ones (to 1e-12), as Python and under tp.jit; loop
checkpointing (`every=k`, `every="sqrt"`) really shrinks the tape; composition with jvp, vmap,
hessian and grad of grad; references from finite differences and JAX (float64)."""
import contextlib
import io
import math
import tracemalloc

import numpy as np
import pytest

import transpile as tp
from transpile.__main__ import main as cli

OMEGA, T_END = 1.3, 10.0
EULER_ARGS = (0.3, 2.0, 0.5)
EVERY = (1, 7, "sqrt", 5000)


def euler_loss(damping, stiffness, amplitude, n):
    """The benchmarks' Euler-integrated damped, driven oscillator."""
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


def trajectory(p, x0):
    """In-place writes into an array the function created, a branch, a step of 1 from 1."""
    xs = np.zeros(40)
    x = x0
    for i in range(1, 40):
        x = x + 0.1 * math.sin(p * x)
        xs[i] = x * p
        if x > 0.6:
            x = x - 0.2
        else:
            xs[i - 1] += x
    return np.sum(xs ** 2) + x


def vector_flow(p, x0, n):
    """Array state reassigned each step, a reduction carried along."""
    x = x0
    acc = 0.0
    for i in range(n):
        x = x + 0.1 * np.sin(p * x)
        acc = acc + np.sum(x * x)
    return acc


def strided(a, n):
    """Nonzero start, a step of 3 and a counting-down loop; an int counter carried along."""
    s = a
    count = 0
    for i in range(2, n, 3):
        s = s * 0.9 + math.sin(a * i)
        count = count + 1
    for j in range(n, 0, -2):
        s = s + a * s / (j + count)
    return s


def early_exit(a):
    """A loop with `break` is not segmented (documented): still right."""
    s = a
    for i in range(50):
        s = s * 1.1 + 0.01 * a
        if s > 3.0:
            break
    return s


def stepper(x, y, n):
    """A helper with a loop, a branch and in-place writes."""
    buf = np.zeros(n)
    for i in range(n):
        if i % 2 == 0:
            buf[i] = math.sin(x * i) * y
        else:
            buf[i] = x * y / (i + 1.0)
    return np.sum(buf * buf) + x


checkpointed_stepper = tp.checkpoint(stepper)


@tp.checkpoint(every=2)
def decorated_stepper(x, y, n):
    return stepper(x, y, n)


def calls_checkpointed(x, y):
    t = 0.0
    for k in range(3):
        t = t + checkpointed_stepper(x, t + y, 5) * 0.5
    return t + decorated_stepper(t, x, 6)


def calls_plain(x, y):
    t = 0.0
    for k in range(3):
        t = t + stepper(x, t + y, 5) * 0.5
    return t + stepper(t, x, 6)


def close(a, b, tol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))) <= tol


def on(target, fun):
    return tp.jit(fun) if target == "cpu" else fun


# -- checkpointed gradient == plain gradient --------------------------------------------------------

@pytest.mark.parametrize("every", EVERY)
def test_euler_loop(every):
    args = EULER_ARGS + (1000,)
    plain = tp.grad(euler_loss, argnums=(0, 1, 2))(*args)
    checkpointed = tp.checkpoint(euler_loss, every=every)
    assert checkpointed(*args) == euler_loss(*args)
    assert close(tp.grad(checkpointed, argnums=(0, 1, 2))(*args), plain)


@pytest.mark.parametrize("every", EVERY)
@pytest.mark.parametrize("fun, args", [(trajectory, (0.7, 0.3)), (strided, (0.4, 23)), (early_exit, (0.5,)),
                                       (vector_flow, (np.array([0.3, 0.7, 1.1]), np.array([0.2, -0.4, 0.9]), 17))])
def test_loops(fun, args, every):
    argnums = (0, 1) if fun is trajectory else 0
    plain = tp.grad(fun, argnums)(*args)
    assert close(tp.grad(tp.checkpoint(fun, every=every), argnums)(*args), plain)


def test_compiled(target):
    euler = tp.grad(tp.checkpoint(euler_loss, every="sqrt"), argnums=(0, 1, 2))
    assert close(on(target, euler)(*EULER_ARGS, 1000), tp.grad(euler_loss, argnums=(0, 1, 2))(*EULER_ARGS, 1000))
    traj = tp.grad(tp.checkpoint(trajectory, every=3), argnums=(0, 1))
    assert close(on(target, traj)(0.7, 0.3), tp.grad(trajectory, argnums=(0, 1))(0.7, 0.3))


def test_checkpointed_helpers(target):
    """`h = tp.checkpoint(helper)` and `@tp.checkpoint(every=2)`, called from a differentiated loop."""
    got = on(target, tp.grad(calls_checkpointed, argnums=(0, 1)))(0.4, 0.9)
    assert close(got, tp.grad(calls_plain, argnums=(0, 1))(0.4, 0.9))
    assert close(calls_checkpointed(0.4, 0.9), calls_plain(0.4, 0.9))


def test_whole_function():
    assert close(tp.grad(tp.checkpoint(stepper), argnums=(0, 1))(0.4, 0.9, 7),
                 tp.grad(stepper, argnums=(0, 1))(0.4, 0.9, 7))


# -- the tape really is smaller ---------------------------------------------------------------------

def peak_bytes(fun, *args):
    """Peak memory of one call after a warm-up call; the generated code runs as Python, so its
    tapes are NumPy arrays that tracemalloc sees."""
    fun(*args)
    tracemalloc.start()
    try:
        fun(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_tape_memory_shrinks():
    args = EULER_ARGS + (2000,)
    plain = peak_bytes(tp.grad(euler_loss, argnums=(0, 1, 2)), *args)
    sqrt = peak_bytes(tp.grad(tp.checkpoint(euler_loss, every="sqrt"), argnums=(0, 1, 2)), *args)
    every_10 = peak_bytes(tp.grad(tp.checkpoint(euler_loss, every=10), argnums=(0, 1, 2)), *args)
    assert plain > 2000 * 3 * 8  # three float stacks of 2000 values: x, v, cos(omega t); dt * x is recomputed
    assert sqrt * 5 < plain
    assert sqrt < every_10 < plain  # 10 steps a segment keeps 200 states: between the two


# -- references -------------------------------------------------------------------------------------

def test_finite_differences():
    grad = tp.grad(tp.checkpoint(euler_loss, every="sqrt"), argnums=(0, 1, 2))(*EULER_ARGS, 300)
    h = 1e-6
    for k in range(3):
        up, down = list(EULER_ARGS), list(EULER_ARGS)
        up[k] += h
        down[k] -= h
        fd = (euler_loss(*up, 300) - euler_loss(*down, 300)) / (2 * h)
        assert abs(grad[k] - fd) <= 1e-6 * max(1.0, abs(fd))


def test_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def jax_loss(damping, stiffness, amplitude):
        n = 200
        dt = T_END / n

        def step(i, carry):
            x, v, loss = carry
            a = amplitude * jnp.cos(OMEGA * i * dt) - damping * v - stiffness * x
            x, v = x + dt * v, v + dt * a
            return x, v, loss + dt * x * x

        return jax.lax.fori_loop(0, n, jax.checkpoint(step), (1.0, 0.0, 0.0))[2]

    expected = jax.grad(jax_loss, argnums=(0, 1, 2))(*EULER_ARGS)
    got = tp.grad(tp.checkpoint(euler_loss, every="sqrt"), argnums=(0, 1, 2))(*EULER_ARGS, 200)
    assert close(got, [float(e) for e in expected], tol=1e-10)


# -- composition -------------------------------------------------------------------------------------

def one_state(a, n):
    x = a
    for i in range(n):
        x = x + 0.1 * math.sin(a * x)
    return x


def test_forward_mode_and_vmap():
    p, x0 = np.array([0.3, 0.7, 1.1]), np.array([0.2, -0.4, 0.9])
    checkpointed = tp.checkpoint(vector_flow, every=4)
    out, tangent = tp.jvp(checkpointed, (p, x0, 17), (np.ones(3), np.zeros(3), 0))
    plain_out, plain_tangent = tp.jvp(vector_flow, (p, x0, 17), (np.ones(3), np.zeros(3), 0))
    assert close(out, plain_out) and close(tangent, plain_tangent)
    batch = np.linspace(0.1, 1.0, 12).reshape(4, 3)
    per_example = tp.vmap(tp.grad(checkpointed), in_axes=(0, None, None))(batch, x0, 9)
    assert close(per_example, tp.vmap(tp.grad(vector_flow), in_axes=(0, None, None))(batch, x0, 9))


def test_second_derivatives():
    checkpointed = tp.checkpoint(one_state, every=3)
    assert close(tp.grad(tp.grad(checkpointed))(0.5, 11), tp.grad(tp.grad(one_state))(0.5, 11))
    assert close(tp.hessian(tp.checkpoint(euler_loss, every=5))(*EULER_ARGS, 40),
                 tp.hessian(euler_loss)(*EULER_ARGS, 40))


def test_value_and_grad_vjp_and_pytrees():
    checkpointed = tp.checkpoint(strided, every=2)
    value, grad = tp.value_and_grad(checkpointed)(0.4, 23)
    assert value == strided(0.4, 23) and close(grad, tp.grad(strided)(0.4, 23))
    out, vjp_fun = tp.vjp(checkpointed, 0.4, 23)
    assert close(vjp_fun(1.0)[0], grad)

    def tree(params, n):
        x = params["x0"]
        for i in range(n):
            x = x * params["k"] + 0.01 * x * x
        return x

    params = {"x0": 0.5, "k": 0.97}
    got, expected = tp.grad(tp.checkpoint(tree, every="sqrt"))(params, 20), tp.grad(tree)(params, 20)
    assert got.keys() == expected.keys() and all(close(got[k], expected[k]) for k in got)


# -- the interface -------------------------------------------------------------------------------

def test_refusals():
    with pytest.raises(ValueError, match="every"):
        tp.checkpoint(euler_loss, every=0)
    with pytest.raises(tp.TranspileError, match="inside other transformations"):
        tp.checkpoint(tp.grad(one_state), every=3)(0.5, 4)


def test_show_and_cli():
    source = tp.show(tp.grad(tp.checkpoint(euler_loss, every="sqrt")), *EULER_ARGS, 10)
    assert "def euler_loss_loop_segment_vjp(" in source and "for segment in range(" in source
    assert "# test_checkpoint.py:" in source
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["show", f"{__file__}:one_state", "-t", "checkpoint:every=sqrt", "-t", "grad"]) in (0, None)
    assert "one_state_loop_segment_vjp" in out.getvalue()
