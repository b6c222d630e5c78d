"""Second (and third) derivatives through loops, branches and in-place writes: tp.grad(tp.grad(f))
differentiates reverse mode's own output, tapes included, as Python and under tp.jit.

References: central differences of the (independently checked) first derivative, and JAX's
jax.grad(jax.grad(f)) in float64, run on the same source with `np` bound to jax.numpy (in-place
writes get a JAX twin written with `.at[...]`).
"""
import types

import numpy as np
import pytest

import transpile as tp

STEP = 1e-5


def on(target, fun):
    return tp.jit(fun) if target == "cpu" else fun


def square(v):
    return v * v


# -- the functions: a float in, a float out -------------------------------------------------------

def loop_recurrence(x):
    s = 0.0
    for i in range(5):
        s = s * x + np.sin(s + x)
    return s


def while_growth(x):
    y = x
    while y < 10.0:
        y = y * 1.5 + np.sin(y)
    return y


def newton_sqrt(a):
    x = a
    it = 0
    while abs(x * x - a) > 1e-12 and it < 50:
        x = 0.5 * (x + a / x)
        it += 1
    return x


def branch_in_loop(x):
    s = 0.2
    for i in range(6):
        if s > 0.5:
            s = s * x - 0.3
        else:
            s = s + x * x
    return s


def break_in_loop(x):
    s = 0.0
    for i in range(20):
        s = s + np.cos(s * x)
        if s > 2.0:
            break
    return s * x


def continue_in_loop(x):
    s = 1.0
    for i in range(7):
        if i % 2 == 0:
            continue
        s += x ** i * s
    return s


def return_in_loop(x):
    s = 0.5
    for i in range(8):
        s = s * x + 1.0
        if s > 3.0:
            return s * s
    return s


def nested_loops(x):
    s = 0.1
    for i in range(3):
        for j in range(i + 1):
            s = s * x + np.tanh(s + j)
    return s


def helper_in_loop(x):
    s = 0.0
    for i in range(4):
        s = s + square(s * x) + x
    return s


def loop_of_helper(v):
    s = 0.3
    for i in range(3):
        s = s * v + np.sin(s)
    return s


def helper_with_loop(x):
    return loop_of_helper(x) * x


def over_data(x, data):
    s = 0.0
    for v in data:
        s = np.exp(-s * x) + v * x
    return s


def write_elements(x):
    y = np.zeros(5)
    for i in range(5):
        y[i] = np.sin(x * (i + 1))
    return np.sum(y * y) * x


def recurrence_writes(x):
    y = np.ones(6)
    for i in range(1, 6):
        y[i] = y[i - 1] * x + np.cos(y[i - 1])
    return np.sum(y)


def augmented_writes(x):
    y = np.ones(3)
    for i in range(5):
        y[i % 3] += x * y[(i + 1) % 3]
        y[0] *= 1.0 + 0.1 * x
    return np.sum(y * y)


def overwrite_same_element(x):
    y = np.zeros(2)
    for k in range(4):
        y[0] = np.sin(y[0] + x) * 1.5
        y[1] = y[1] * x + y[0]
    return y[0] * y[1]


# JAX twins of the in-place writers (JAX arrays are immutable)

def write_elements_jax(x, jnp):
    y = jnp.zeros(5)
    for i in range(5):
        y = y.at[i].set(jnp.sin(x * (i + 1)))
    return jnp.sum(y * y) * x


def recurrence_writes_jax(x, jnp):
    y = jnp.ones(6)
    for i in range(1, 6):
        y = y.at[i].set(y[i - 1] * x + jnp.cos(y[i - 1]))
    return jnp.sum(y)


def augmented_writes_jax(x, jnp):
    y = jnp.ones(3)
    for i in range(5):
        y = y.at[i % 3].add(x * y[(i + 1) % 3])
        y = y.at[0].multiply(1.0 + 0.1 * x)
    return jnp.sum(y * y)


def overwrite_same_element_jax(x, jnp):
    y = jnp.zeros(2)
    for k in range(4):
        y = y.at[0].set(jnp.sin(y[0] + x) * 1.5)
        y = y.at[1].set(y[1] * x + y[0])
    return y[0] * y[1]


DATA = np.array([0.3, -0.2, 0.7, 0.1])
CASES = [
    (loop_recurrence, (0.3,)), (while_growth, (0.8,)), (newton_sqrt, (2.0,)),
    (branch_in_loop, (0.9,)), (branch_in_loop, (0.4,)), (break_in_loop, (0.7,)),
    (continue_in_loop, (0.6,)), (return_in_loop, (1.3,)), (return_in_loop, (0.5,)),
    (nested_loops, (0.8,)), (helper_in_loop, (0.4,)), (helper_with_loop, (0.5,)), (over_data, (0.6, DATA)),
    (write_elements, (0.7,)), (recurrence_writes, (0.6,)), (augmented_writes, (0.5,)),
    (overwrite_same_element, (0.3,)),
]
IDS = [f"{fn.__name__}-x={args[0]}" for fn, args in CASES]
JAX_TWINS = {write_elements: write_elements_jax, recurrence_writes: recurrence_writes_jax,
             augmented_writes: augmented_writes_jax, overwrite_same_element: overwrite_same_element_jax}


def second(fn, target):
    return on(target, tp.grad(tp.grad(fn)))


@pytest.mark.parametrize("fn, args", CASES, ids=IDS)
def test_second_derivative_matches_differences(fn, args, target):
    first = tp.grad(fn)
    x, rest = args[0], args[1:]
    expected = (first(x + STEP, *rest) - first(x - STEP, *rest)) / (2 * STEP)
    assert second(fn, target)(*args) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def jax_x64():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_function(fn):
    """`fn` run by JAX: its twin for in-place writers, else its own code (and that of the helpers it
    calls) with np bound to jax.numpy."""
    jnp = jax_x64().numpy
    if fn in JAX_TWINS:
        twin = JAX_TWINS[fn]
        return lambda *a: twin(*a, jnp)
    namespace = {**fn.__globals__, "np": jnp}  # the helpers it calls run on JAX too
    for name, obj in fn.__globals__.items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == fn.__module__:
            namespace[name] = types.FunctionType(obj.__code__, namespace, name, obj.__defaults__)
    return namespace[fn.__name__]


@pytest.mark.parametrize("fn, args", CASES, ids=IDS)
def test_second_derivative_matches_jax(fn, args, target):
    jax = jax_x64()
    expected = float(jax.grad(jax.grad(jax_function(fn)))(*args))
    assert second(fn, target)(*args) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("fn, x", [(loop_recurrence, 0.3), (while_growth, 0.8), (branch_in_loop, 0.9),
                                   (overwrite_same_element, 0.3)],
                         ids=["loop_recurrence", "while_growth", "branch_in_loop", "overwrite_same_element"])
def test_third_derivative_matches_jax(fn, x, target):
    jax = jax_x64()
    expected = float(jax.grad(jax.grad(jax.grad(jax_function(fn))))(x))
    assert on(target, tp.grad(tp.grad(tp.grad(fn))))(x) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_value_and_grad_of_grad_through_a_loop(target):
    value, d2 = on(target, tp.value_and_grad(tp.grad(loop_recurrence)))(0.3)
    assert value == pytest.approx(tp.grad(loop_recurrence)(0.3), rel=1e-14)
    first = tp.grad(loop_recurrence)
    assert d2 == pytest.approx((first(0.3 + STEP) - first(0.3 - STEP)) / (2 * STEP), rel=1e-6)


def test_generated_second_derivative_keeps_typed_tapes():
    source = tp.show(tp.grad(tp.grad(loop_recurrence)), 0.3)
    assert "new_tape(" in source
    assert ".append(" not in source and "tape_restore" not in source
    code = [line.strip() for line in source.splitlines() if not line.lstrip().startswith("#")]
    assert sum(line.startswith("for ") for line in code) == 4  # the first derivative's two loops, each swept twice


# -- array state in a loop: kept on a list tape, which has no derivative ---------------------------

def array_state_in_loop(x):
    acc = np.ones(3) * x
    for i in range(3):
        acc = np.sin(acc) * x
    return np.sum(acc)


def test_list_tape_is_a_clear_error(target):
    first = tp.grad(array_state_in_loop)
    assert first(0.4) == pytest.approx((array_state_in_loop(0.4 + STEP) - array_state_in_loop(0.4 - STEP))
                                       / (2 * STEP), rel=1e-6)
    with pytest.raises(tp.NotDifferentiableError, match="list") as info:
        on(target, tp.grad(first))(0.4)
    assert "test_higher_order.py:" in str(info.value)
