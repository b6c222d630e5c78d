"""Reverse mode through the public API (tp.grad, value_and_grad, vjp), on the functions of
grad_cases.py, each run as Python (tp.grad(f) without jit) and under tp.jit (Numba nopython).

References are independent of transpile: central finite differences in float64, closed forms, and
jax.grad (x64) where JAX is installed and can run the function (it cannot write into arrays).
"""
import functools
import importlib.util
import math
import re
import types
import zlib

import grad_cases as gc
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import transpile as tp

try:
    import jax
    import jax.numpy as jnp
    import jax.scipy.special
    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None

EPS = 1e-6


def on(target, fun):
    return tp.jit(fun) if target == "cpu" else fun


# -- pytrees, independently of transpile.pytree --------------------------------------------------

def leaves(tree):
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in leaves(tree[k])]
    if isinstance(tree, (tuple, list)):
        return [leaf for v in tree for leaf in leaves(v)]
    return [tree]


def rebuild(tree, it):
    if isinstance(tree, dict):
        return {k: rebuild(tree[k], it) for k in sorted(tree)}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(rebuild(v, it) for v in tree))
    if isinstance(tree, (tuple, list)):
        return type(tree)(rebuild(v, it) for v in tree)
    return next(it)


def structure(tree):
    if isinstance(tree, dict):
        return {k: structure(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree), [structure(v) for v in tree]
    return np.shape(tree)


def assert_tree_close(actual, expected, rtol, atol):
    assert structure(actual) == structure(expected)
    for a, e in zip(leaves(actual), leaves(expected)):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


# -- references ----------------------------------------------------------------------------------

def numeric_grad(f, args, argnums):
    """Central differences of scalar f w.r.t. args[argnums], in the structure of those arguments."""
    grads = []
    for k in [n % len(args) for n in ((argnums,) if isinstance(argnums, int) else argnums)]:
        originals = leaves(args[k])
        flat = [np.array(leaf, dtype=float) for leaf in originals]

        def at(j, idx, delta):
            moved = [m.copy() for m in flat]
            moved[j][idx] += delta
            tree = rebuild(args[k], (m if isinstance(o, np.ndarray) else float(m) for m, o in zip(moved, originals)))
            return f(*args[:k], tree, *args[k + 1:])

        out = []
        for j, (original, leaf) in enumerate(zip(originals, flat)):
            g = np.zeros_like(leaf)
            for idx in np.ndindex(leaf.shape):
                g[idx] = (at(j, idx, EPS) - at(j, idx, -EPS)) / (2 * EPS)
            out.append(g if isinstance(original, np.ndarray) else float(g))
        grads.append(rebuild(args[k], iter(out)))
    return grads[0] if isinstance(argnums, int) else tuple(grads)


def check_against_differences(f, args, argnums, actual):
    """Gradient vs central differences; atol scaled by |f| for the differences' rounding error."""
    atol = 1e-8 * (1.0 + abs(f(*args)))
    assert_tree_close(actual, numeric_grad(f, args, argnums), rtol=1e-6, atol=atol)


JAX_MATH = None if jax is None else types.SimpleNamespace(
    sin=jnp.sin, cos=jnp.cos, tan=jnp.tan, asin=jnp.arcsin, acos=jnp.arccos, atan=jnp.arctan,
    atan2=jnp.arctan2, sinh=jnp.sinh, cosh=jnp.cosh, tanh=jnp.tanh, exp=jnp.exp, expm1=jnp.expm1,
    log=jnp.log, log1p=jnp.log1p, log2=jnp.log2, log10=jnp.log10, sqrt=jnp.sqrt, pow=jnp.power,
    fabs=jnp.abs, erf=jax.scipy.special.erf, erfc=jax.scipy.special.erfc, hypot=jnp.hypot)


@functools.cache
def jax_cases():
    """grad_cases loaded afresh with np, math and tp.stop_gradient bound to JAX's."""
    spec = importlib.util.spec_from_file_location("grad_cases_jax", gc.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.np, module.math = jnp, JAX_MATH
    module.tp = types.SimpleNamespace(stop_gradient=jax.lax.stop_gradient)
    return module


def jax_version(fn):
    if jax is None:
        pytest.skip("JAX is not installed")
    return getattr(jax_cases(), fn.__name__)


def jax_or_skip(compute):
    """compute() with JAX, as NumPy trees; skip where JAX cannot run the function (array writes...)."""
    try:
        result = compute()
    except TypeError as exc:  # JAX's array writes, concretization errors
        pytest.skip(f"JAX cannot run this function: {str(exc).splitlines()[0]}")
    return jax.tree_util.tree_map(np.asarray, result)


# -- cases ---------------------------------------------------------------------------------------

def U(*shape, lo=-1.0, hi=1.0):
    """A uniform float on [lo, hi], or an array of them."""
    return lambda r: float(r.uniform(lo, hi)) if not shape else r.uniform(lo, hi, shape)


def P(*shape):
    return U(*shape, lo=0.5, hi=1.8)


def Away(*shape):
    """Floats with 0.3 <= |v| <= 1.5: away from the kinks and poles at zero."""
    return lambda r: r.choice([-1.0, 1.0], shape) * r.uniform(0.3, 1.5, shape)


def M(n):
    """A well-conditioned n x n matrix."""
    return lambda r: r.normal(size=(n, n)) + 3.0 * np.eye(n)


def draw(spec, r):
    if callable(spec):
        return spec(r)
    if isinstance(spec, tuple) and hasattr(spec, "_fields"):
        return type(spec)(*(draw(v, r) for v in spec))
    if isinstance(spec, (tuple, list)):
        return type(spec)(draw(v, r) for v in spec)
    if isinstance(spec, dict):
        return {k: draw(v, r) for k, v in spec.items()}
    return spec


class Case:
    """f at sample arguments (drawn from specs by a per-case seed), differentiated w.r.t. argnums;
    `expected(*args)` gives the gradient where differences cannot (stop_gradient)."""

    def __init__(self, fn, *specs, argnums=0, label="", expected=None):
        self.fn, self.argnums, self.expected = fn, argnums, expected
        self.id = fn.__name__ + (f"[{label}]" if label else "") + (f"-argnums={argnums}" if argnums != 0 else "")
        self.args = draw(specs, np.random.default_rng(zlib.crc32(self.id.encode())))


def arr(*values):
    return np.array(values, dtype=float)


MIXED = arr(0.3, -0.5, 0.8, 1.6, 0.2, -1.1)
SMALL_X = arr([0.3, 0.8, 0.1, 0.5], [0.9, 0.2, 0.7, 0.4], [0.6, 0.1, 0.3, 0.8])
MLP = {"W1": U(3, 4), "b1": U(4), "W2": U(4, 2), "b2": U(2)}

CASES = [
    Case(gc.straight_line, P(), U(), argnums=(0, 1)),
    Case(gc.straight_line_arrays, U(4), U(3, 4)),
    Case(gc.logistic_loss, U(3), U(6, 3), arr(0, 1, 1, 0, 1, 0)),
    Case(gc.reassign_variable, U(5)),
    *[Case(gc.if_elif_else, x, label=f"x={x}") for x in (1.7, 0.4, -0.8)],
    Case(gc.branch_on_array_value, U(5, lo=0.1), label="positive"),
    Case(gc.branch_on_array_value, U(5, hi=-0.1), label="negative"),
    Case(gc.conditional_expression, 1.2, 0.5, argnums=(0, 1), label="true"),
    Case(gc.conditional_expression, 0.3, 0.9, argnums=(0, 1), label="false"),
    Case(gc.range_one_arg, U()),
    Case(gc.range_two_args, U(6)),
    Case(gc.range_three_args, U(7)),
    Case(gc.loop_over_array, U(5)),
    Case(gc.loop_over_rows, U(4, 3)),
    Case(gc.loop_enumerate, U(5)),
    Case(gc.loop_zip, U(5), U(4), argnums=(0, 1)),
    Case(gc.nested_loops, U(3, 4), U(4, 2), argnums=(0, 1)),
    Case(gc.loop_carried_state, U(2), 6),
    Case(gc.while_newton_sqrt, 2.0),
    Case(gc.while_data_stop, arr(0.5, -0.7, 0.9, 1.1, 0.3), label="stops"),
    Case(gc.while_data_stop, arr(0.1, 0.2, 0.3), label="runs-out"),
    Case(gc.while_growth, 0.8),
    Case(gc.break_in_loop, MIXED, 1.0, label="breaks"),
    Case(gc.break_in_loop, MIXED, 5.0, label="no-break"),
    Case(gc.continue_in_loop, MIXED),
    Case(gc.while_break_continue, arr(0.5, -0.3, 1.0, 2.0, 0.2)),
    *[Case(gc.early_return, x, label=f"x={x}") for x in (-0.7, 0.6)],
    *[Case(gc.multiple_returns, x, label=f"x={x}") for x in (2.5, 1.5, 0.5, -0.5)],
    Case(gc.return_in_loop, MIXED, 1.5, label="returns"),
    Case(gc.return_in_loop, MIXED, 100.0, label="falls-through"),
    Case(gc.return_in_nested_loops, SMALL_X, 3.0, label="returns"),
    Case(gc.return_in_nested_loops, SMALL_X, 100.0, label="falls-through"),
    Case(gc.index_reads, P(6)),
    Case(gc.index_reads_2d, U(3, 4)),
    Case(gc.strided_slices, U(6)),
    Case(gc.write_elements, U(5)),
    Case(gc.augmented_writes, U(5)),
    Case(gc.write_columns, U(3, 3)),
    Case(gc.overwrite_same_element, U(5)),
    Case(gc.recurrence_writes, U(6)),
    Case(gc.write_rows_2d, U(3, 4)),
    Case(gc.write_on_copy, U(5)),
    Case(gc.calls_helper, U(4)),
    Case(gc.helper_chain, U(4)),
    Case(gc.helper_keywords, U(4), U(), argnums=(0, 1)),
    Case(gc.uses_closure, U(4)),
    Case(gc.helper_in_loop, U(5)),
    Case(gc.helper_pair, U(4)),
    Case(gc.helper_with_loop_and_writes, U(5)),
    Case(gc.stop_gradient_scale, U(4), expected=np.exp),
    Case(gc.stop_gradient_in_loop, U(5), expected=lambda x: np.cumprod(np.r_[1.0, 1.0 + x[:-1]])),
    *[Case(gc.three_args, U(3), U(3), U(), argnums=a) for a in (1, (0, 2), -1, (-1, 0))],
    Case(gc.mlp, MLP, U(5, 3)),
    Case(gc.mlp, MLP, U(5, 3), argnums=(0, 1)),
    Case(gc.tuple_params, (U(3), U()), U(3)),
    Case(gc.nested_params, {"layer": (U(3), U(3)), "scale": U()}, U(3)),
    Case(gc.namedtuple_params, gc.Params(U(3), U()), U(3)),
    Case(gc.list_params, [U(3), U(3)], U(3)),
    Case(gc.unary_basic, Away(5)),
    Case(gc.unary_roots, P(5)),
    Case(gc.unary_exponentials, U(5)),
    Case(gc.unary_logarithms, P(5)),
    Case(gc.unary_trig, U(5)),
    Case(gc.unary_inverse_trig, U(5, lo=-0.8, hi=0.8)),
    Case(gc.unary_hyperbolic, U(5)),
    Case(gc.unary_inverse_hyperbolic, U(5, lo=-0.8, hi=0.8)),
    Case(gc.unary_scalar, P()),
    Case(gc.arithmetic_scalar_array, P(), P(4), argnums=(0, 1)),
    Case(gc.arithmetic_row_column, U(1, 4), U(3, 1), argnums=(0, 1)),
    Case(gc.power_forms, P(4), P(), argnums=(0, 1)),
    Case(gc.max_min_row_column, U(1, 4), U(3, 1), argnums=(0, 1)),
    Case(gc.fmax_fmin, U(5), U(5), argnums=(0, 1)),
    Case(gc.arctan2_hypot, U(2, 3), Away(3), argnums=(0, 1)),
    Case(gc.logaddexp_forms, U(4), U(3, 1), argnums=(0, 1)),
    Case(gc.where_clip, U(3, 4), U(4), argnums=(0, 1)),
    Case(gc.sum_mean_axes, U(3, 4)),
    Case(gc.prod_reduction, U(3, 4)),
    Case(gc.max_min_reductions, U(3, 4)),
    Case(gc.var_std, U(3, 4)),
    Case(gc.cumsum_forms, U(3, 4)),
    Case(gc.reduction_3d, U(2, 3, 4)),
    Case(gc.dot_matmul, U(3, 4), U(4), argnums=(0, 1)),
    Case(gc.outer_inner_vdot, U(3), U(3), argnums=(0, 1)),
    Case(gc.trace_norm, U(3, 3)),
    Case(gc.inv_solve_det, M(3), U(3), argnums=(0, 1)),
    Case(gc.reshape_ravel_transpose, U(6)),
    Case(gc.swapaxes_expand_squeeze, U(2, 3, 4)),
    Case(gc.broadcast_to_form, U(4)),
    Case(gc.concatenate_stack, U(3), U(3), argnums=(0, 1)),
    Case(gc.concatenate_flat, U(2, 3), U(4), argnums=(0, 1)),
    Case(gc.hstack_vstack, U(3), U(3), argnums=(0, 1)),
    Case(gc.flip_forms, U(3, 4)),
    Case(gc.copy_array_asarray, U(), U(), argnums=(0, 1)),
    Case(gc.creation_in_code, U(4)),
    Case(gc.math_trig, U(lo=-0.8, hi=0.8)),
    Case(gc.math_hyperbolic_exp, U()),
    Case(gc.math_logs_powers, P()),
    Case(gc.math_in_loop, U(5)),
    Case(gc.builtins_scalar, 0.7, 1.3, argnums=(0, 1)),
    Case(gc.builtins_on_array, Away(5)),
    Case(gc.array_methods, U(3, 4), U(4), argnums=(0, 1)),
]
IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS)


@functools.cache
def gradient(case, target):
    return on(target, tp.grad(case.fn, argnums=case.argnums))(*case.args)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grad(case, target):
    actual = gradient(case, target)
    if case.expected is not None:
        assert_tree_close(actual, case.expected(*case.args), rtol=1e-12, atol=1e-12)
    else:
        check_against_differences(case.fn, case.args, case.argnums, actual)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jit_agrees_with_python(case):
    assert_tree_close(gradient(case, "cpu"), gradient(case, "python"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_grad_matches_jax(case):
    fn, n = jax_version(case.fn), len(case.args)
    nums = case.argnums % n if isinstance(case.argnums, int) else tuple(k % n for k in case.argnums)
    expected = jax_or_skip(lambda: jax.grad(fn, argnums=nums)(*case.args))
    assert_tree_close(gradient(case, "python"), expected, rtol=1e-10, atol=1e-12)


# -- has_aux, value_and_grad, vjp ----------------------------------------------------------------

W, X = np.array([0.5, -1.0, 0.3]), np.arange(12.0).reshape(4, 3) / 10.0


def test_has_aux(target):
    g, aux = on(target, tp.grad(gc.loss_with_aux, has_aux=True))(W, X)
    np.testing.assert_allclose(aux, X @ W, rtol=1e-14)
    check_against_differences(lambda w, x: gc.loss_with_aux(w, x)[0], (W, X), 0, g)


def test_value_and_grad(target):
    value, (gw, gx) = on(target, tp.value_and_grad(gc.straight_line_arrays, argnums=(0, 1)))(W, X)
    assert value == pytest.approx(gc.straight_line_arrays(W, X), rel=1e-14)
    check_against_differences(gc.straight_line_arrays, (W, X), (0, 1), (gw, gx))


def test_value_and_grad_has_aux(target):
    (value, aux), g = on(target, tp.value_and_grad(gc.loss_with_aux, has_aux=True))(W, X)
    assert value == pytest.approx(gc.loss_with_aux(W, X)[0], rel=1e-14)
    np.testing.assert_allclose(aux, X @ W, rtol=1e-14)
    check_against_differences(lambda w, x: gc.loss_with_aux(w, x)[0], (W, X), 0, g)


VJP_CASES = [(gc.vector_map, (U(3), U(3))), (gc.matrix_map, (U(3, 4),)), (gc.cumulative_sines, (U(5),)),
             (gc.vector_output, (U(2, 3),))]


@pytest.mark.parametrize("fn, specs", VJP_CASES, ids=[fn.__name__ for fn, _ in VJP_CASES])
def test_vjp(fn, specs, target):
    r = np.random.default_rng(zlib.crc32(fn.__name__.encode()))
    primals = draw(specs, r)
    out, vjp_fun = tp.vjp(on(target, fn), *primals)
    np.testing.assert_allclose(out, fn(*primals), rtol=1e-14)
    cotangent = r.normal(size=np.shape(out))
    cts = vjp_fun(cotangent)
    assert isinstance(cts, tuple) and len(cts) == len(primals)
    check_against_differences(lambda *a: np.sum(cotangent * fn(*a)), primals, tuple(range(len(primals))), cts)
    if jax is not None:
        fj = jax_version(fn)
        expected = jax_or_skip(lambda: jax.vjp(fj, *primals)[1](cotangent))
        assert_tree_close(cts, expected, rtol=1e-10, atol=1e-12)


# -- second derivatives --------------------------------------------------------------------------

SECOND = [
    (gc.poly_exp, 0.7, lambda x: (6 * x + 6 * x ** 2 + x ** 3) * math.exp(x)),
    (gc.sin_log, 1.3, lambda x: -math.sin(x) * math.log(x) + 2 * math.cos(x) / x - math.sin(x) / x ** 2),
    (gc.tanh_sq, 0.4, lambda x: 2 * (1 - math.tanh(x) ** 2) * (1 - 3 * math.tanh(x) ** 2)),
    (gc.rational, 0.6, lambda x: 2 * x * (x * x - 3) / (1 + x * x) ** 3),
    (gc.math_mix, 1.2, lambda x: -math.cos(x) / (4 * x ** 1.5) - math.sin(x) / math.sqrt(x) - math.sqrt(x) * math.cos(x)),
    (gc.early_return, 0.7, math.exp),
    (gc.multiple_returns, 1.5, lambda x: 6 * x),
    (gc.if_elif_else, -0.8, lambda x: -(2 + x) * math.exp(x)),
]


@pytest.mark.parametrize("fn, x, d2", SECOND, ids=[fn.__name__ for fn, _, _ in SECOND])
def test_grad_of_grad(fn, x, d2, target):
    assert on(target, tp.grad(tp.grad(fn)))(x) == pytest.approx(d2(x), rel=1e-12)


# -- errors --------------------------------------------------------------------------------------

def test_grad_wrt_int_argument_is_refused(target):
    with pytest.raises(tp.NotDifferentiableError, match="argument 1"):
        on(target, tp.grad(gc.int_power, argnums=1))(2.0, 3)
    with pytest.raises(tp.NotDifferentiableError):
        on(target, tp.grad(gc.poly_exp))(2)
    with pytest.raises(tp.NotDifferentiableError, match="int"):
        on(target, tp.grad(gc.sum_of_squares))(np.arange(3))


def test_grad_of_non_scalar_output_is_refused(target):
    with pytest.raises((tp.TranspileError, TypeError), match="scalar"):
        on(target, tp.grad(gc.vector_output))(np.ones(3))


def test_form_numba_cannot_compile_is_a_clear_error():
    """np.squeeze without axis: under jit its result's rank is unknown until run time."""
    X = np.ones((3, 1))
    np.testing.assert_allclose(tp.grad(gc.squeeze_without_axis)(X), 2.0 * X, rtol=1e-14)
    with pytest.raises(tp.CompileError, match="np.squeeze needs axis=") as info:
        tp.jit(tp.grad(gc.squeeze_without_axis))(X)
    assert "grad_cases.py:" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_missing_rule_names_the_function(target):
    with pytest.raises(tp.MissingRuleError, match="sinc") as info:
        on(target, tp.grad(gc.no_rule))(np.ones(3))
    assert "custom_vjp" in str(info.value)


# -- generated source ----------------------------------------------------------------------------

def test_loops_stay_loops():
    g = tp.grad(gc.loop_power_sum)
    assert g(0.3, 3) == pytest.approx(numeric_grad(gc.loop_power_sum, (0.3, 3), 0), rel=1e-6)
    source = tp.show(g)
    assert g(0.3, 40) == pytest.approx(numeric_grad(gc.loop_power_sum, (0.3, 40), 0), rel=1e-6)
    assert tp.show(g) == source
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    assert len(re.findall(r"^\s+for \w+ in range\(", code, re.M)) == 2  # forward and backward sweeps
    assert code.count("np.sin(") == 1 and code.count("np.cos(") == 1


def test_show_with_example_arguments_is_the_code_that_runs():
    g = tp.grad(gc.loop_carried_state)
    x = np.array([0.3, -0.2])
    shown = tp.show(g, x, 6)
    assert "new_tape(0.0" in shown and "new_tape(0.0" not in tp.show(g)  # typed tapes need known kinds
    assert g(x, 6) == pytest.approx(numeric_grad(gc.loop_carried_state, (x, 6), 0), rel=1e-6)
    with open(g.cache_info()["module_file"]) as generated:
        assert generated.read().endswith(shown)  # after the cache's checksum line


def rebinds_its_trip_count(x, steps):
    h = 0.0
    steps = steps * 2
    for t in range(steps):
        h = np.tanh(h * x[0] + x[1])
    return h


def test_tapes_get_their_full_size_when_the_trip_count_is_known_on_entry():
    x = np.array([0.3, -0.2])
    shown = tp.show(tp.grad(gc.loop_carried_state), x, 6)
    # h is pushed once before the loop and once per step; steps is a parameter never rebound
    assert "tape_h = new_tape(0.0, 1 + range_length(0, steps, 1))" in shown
    rebound = tp.grad(rebinds_its_trip_count)
    assert "new_tape(0.0)" in tp.show(rebound, x, 6)  # steps changes before the loop: the tape grows
    for target in ("python", "cpu"):
        for steps in (0, 1, 70):  # 70 > the default capacity of a growing tape
            for f in (gc.loop_carried_state, rebinds_its_trip_count):
                check_against_differences(f, (x, steps), 0, on(target, tp.grad(f))(x, steps))


def rebound_in_loop(x, steps):
    h = x * 0.5
    for t in range(steps):
        h = np.tanh(h) * x
    return np.sum(h)


def test_a_reassigned_array_takes_its_first_contribution_without_a_zero_array():
    """The adjoint of `h` is reset where `h` is reassigned; the next contribution replaces the
    zeros instead of being added to them, so no zero array is allocated per step."""
    x = np.array([0.3, -0.2, 0.8])
    shown = tp.show(tp.grad(rebound_in_loop), x, 4)
    start = shown.index("for k_rev")
    backward_loop = shown[start:shown.index("tape_restore(", start)]
    assert "zero_like(dh)" not in backward_loop and "dh = ct_" in backward_loop
    for target in ("python", "cpu"):
        check_against_differences(rebound_in_loop, (x, 4), 0, on(target, tp.grad(rebound_in_loop))(x, 4))


def shrinking_tails(w, x):
    """`seg` is one element shorter every step and its last value has length 1: reading that
    stale value's shape would broadcast the earlier steps' cotangents into one element."""
    total = 0.0
    for t in range(x.shape[0]):
        seg = np.sin(x[t:] * w[t])
        total += np.sum(seg * seg)
    return total


def growing_state(x, steps):
    """h starts as a row and becomes a matrix at the first step: its values differ in shape."""
    h = x * 0.5
    for t in range(steps):
        h = np.tanh(h) * np.ones((2, 1)) + x
    return np.sum(h * h)


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_arrays_whose_shape_changes_between_steps_get_exact_gradients(target):
    w, x = np.linspace(0.3, 0.9, 6), np.linspace(-1.0, 1.0, 6)
    for argnums in (1, (0, 1)):  # with x alone, nothing else needs seg's values
        check_against_differences(shrinking_tails, (w, x), argnums,
                                  on(target, tp.grad(shrinking_tails, argnums=argnums))(w, x))
    if target == "python":  # under Numba a variable keeps its rank: the primal does not compile either
        check_against_differences(growing_state, (x[:3], 3), 0, tp.grad(growing_state)(x[:3], 3))


def test_only_names_that_may_change_shape_are_saved_for_their_shape():
    """The recurrence `h = tanh(h) * x` keeps x's shape (analysis/fixed_shapes.py), so h is not
    saved for its shape alone; the product of a slice whose start moves, read only for its shape
    (`sum_vjp`), is saved as a stand-in that fused code need not compute."""
    x = np.array([0.3, -0.2, 0.8])
    assert "tape_h" not in tp.show(tp.grad(rebound_in_loop), x, 4)
    shown = tp.show(tp.grad(shrinking_tails, argnums=1), np.ones(6), np.ones(6))
    assert "seg_times_seg_shape = shape_stand_in(seg_times_seg)" in shown
    assert "tape_seg_times_seg.append(seg_times_seg_shape)" in shown
    assert "seg_times_seg = shape_restore(tape_seg_times_seg, seg_times_seg)" in shown


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_second_derivatives_through_arrays_whose_shape_changes(target):
    w, x = np.linspace(0.3, 0.9, 6), np.linspace(-1.0, 1.0, 6)
    hessian = on(target, tp.hessian(shrinking_tails, argnums=1))(w, x)
    gradient = tp.grad(shrinking_tails, argnums=1)
    step = 1e-6
    by_differences = np.array([(gradient(w, x + step * e) - gradient(w, x - step * e)) / (2 * step)
                               for e in np.eye(x.shape[0])])
    np.testing.assert_allclose(hessian, by_differences, rtol=1e-6, atol=1e-7)


def read_after_its_array_is_written(w, x):
    s = np.ones((2, 3))
    total = 0.0
    for t in range(x.shape[0]):
        row = s[1]
        s[1] = np.sin(w * x[t])
        total += np.sum(row * w)   # NumPy: row sees the write above
    return total


def written_through_a_view(w, x):
    s = np.ones((2, 3))
    total = 0.0
    for t in range(x.shape[0]):
        row = s[1]
        row[0] = np.sin(w[0] * x[t])   # NumPy: writes s[1, 0]
        total += np.sum(s[1] * w)
    return total


@pytest.mark.parametrize("fun, offset, what", [
    (read_after_its_array_is_written, 6, "written in place before this line reads the view"),
    (written_through_a_view, 5, "this line writes through it")])
def test_a_view_that_would_see_a_write_is_refused_at_its_line(fun, offset, what):
    """Reverse mode keeps such a view as a copy of what it read; with a later write that is not
    NumPy's meaning (the values and the gradient came out wrong), so it is refused."""
    with pytest.raises(tp.TranspileError, match=what) as refused:
        tp.grad(fun)(np.array([0.4, -0.7, 1.1]), np.array([0.5, -1.5, 2.0]))
    assert f"test_grad.py:{fun.__code__.co_firstlineno + offset}:" in str(refused.value)
    assert "copy()" in str(refused.value)


def reassigned_straight_line(x):
    y = np.sin(x)
    y = y * x + y
    y = np.exp(y) * x
    return np.sum(y * y)


def reassigned_in_a_branch(x, flag):
    y = np.sin(x)
    if flag > 0.0:
        y = y * x + y
    y = np.exp(y) * x
    return np.sum(y * y)


def test_values_overwritten_in_straight_line_code_are_kept_in_variables_not_lists():
    x = np.array([0.3, -0.2, 0.8])
    shown = tp.show(tp.grad(reassigned_straight_line), x)
    assert ".append(" not in shown and "= []" not in shown and "y = saved_y" in shown
    assert ".append(" in tp.show(tp.grad(reassigned_in_a_branch), x, 1.0)  # pushed in a branch: a list
    for target in ("python", "cpu"):
        check_against_differences(reassigned_straight_line, (x,), 0, on(target, tp.grad(reassigned_straight_line))(x))
        for flag in (1.0, -1.0):
            check_against_differences(reassigned_in_a_branch, (x, flag), 0,
                                      on(target, tp.grad(reassigned_in_a_branch))(x, flag))


def rows_of_a_parameter(W, x):
    h = x
    for i in range(W.shape[0]):
        w = W[i]
        h = np.tanh(w * h + W[i, 0])
    return np.sum(h)


def test_rows_of_a_parameter_are_indexed_again_not_taped():
    """A parameter is never written in place, so the backward sweep can take `W[i]` again
    instead of keeping every row on a list."""
    W, x = np.linspace(-1.0, 1.0, 12).reshape(4, 3), np.array([0.3, -0.2, 0.8])
    shown = tp.show(tp.grad(rows_of_a_parameter, argnums=(0, 1)), W, x)
    assert "tape_w" not in shown
    assert len(re.findall(r"^ *w = W\[i\]$", shown, re.M)) == 2   # in the forward loop and before its adjoint
    for target in ("python", "cpu"):
        check_against_differences(rows_of_a_parameter, (W, x), (0, 1),
                                  on(target, tp.grad(rows_of_a_parameter, argnums=(0, 1)))(W, x))


def gates_of(x, w, bias):
    g = np.concatenate((x, x)) * w + bias
    return np.sum(np.sin(g[0:3]) * g[3:6])


def test_an_adjoint_written_in_slices_passes_on_without_copies_once_complete():
    """dg is written slice by slice, then read whole: the adjoints of w and bias may start as
    (views of) it, since nothing writes dg afterwards; dg keeps its own zeros."""
    x, w, bias = np.array([0.3, -0.2, 0.8]), np.linspace(0.5, 1.5, 6), np.linspace(-1.0, 1.0, 6)
    shown = tp.show(tp.grad(gates_of, argnums=(0, 1, 2)), x, w, bias)
    assert "dg = adjoint_zero(g)" in shown and "adjoint_zero(bias)" not in shown and "dbias = dbias +" not in shown
    for target in ("python", "cpu"):
        check_against_differences(gates_of, (x, w, bias), (0, 1, 2),
                                  on(target, tp.grad(gates_of, argnums=(0, 1, 2)))(x, w, bias))


# -- property-based ------------------------------------------------------------------------------

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


def floats(lo=-2.0, hi=2.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# distinct values a grid step apart keep max/min away from ties
GRID = st.integers(-200, 200).map(lambda k: k / 100.0)


@SETTINGS
@given(x=hnp.arrays(np.float64, SHAPES, elements=floats()))
def test_elementwise_property(target, x):
    check_against_differences(gc.unary_hyperbolic, (x,), 0, on(target, tp.grad(gc.unary_hyperbolic))(x))


@SETTINGS
@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2, max_side=5))
def test_broadcast_property(target, data, shapes):
    r, c = (data.draw(hnp.arrays(np.float64, s, elements=floats(-1.0, 1.0))) for s in shapes.input_shapes)
    grads = on(target, tp.grad(gc.arithmetic_row_column, argnums=(0, 1)))(r, c)
    check_against_differences(gc.arithmetic_row_column, (r, c), (0, 1), grads)


@SETTINGS
@given(data=st.data(), shape=SHAPES)
def test_reduction_property(target, data, shape):
    x = data.draw(hnp.arrays(np.float64, shape, elements=GRID, unique=True))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    g = on(target, tp.grad(gc.reductions_along))(x, axis)
    check_against_differences(gc.reductions_along, (x, axis), 0, g)


@SETTINGS
@given(x=hnp.arrays(np.float64, SHAPES, elements=floats()))
def test_loop_property(target, x):
    check_against_differences(gc.loop_over_leading_axis, (x,), 0, on(target, tp.grad(gc.loop_over_leading_axis))(x))


@SETTINGS
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=1, max_side=8), elements=floats(-1.5, 1.5)))
def test_data_dependent_loop_property(target, x):
    partial = np.cumsum(x * x)
    assume(np.all(np.abs(partial - 2.0) > 1e-4))  # else a step of the differences changes the trip count
    check_against_differences(gc.while_data_stop, (x,), 0, on(target, tp.grad(gc.while_data_stop))(x))


# -- float32 ---------------------------------------------------------------------------------------

def float32_meets_float64_in_a_loop(x):
    """float32 x meets float64: np.zeros's default, and Python floats (Numba computes float32
    array * 0.5 in float64). The adjoint of x gets contributions of both precisions in a loop."""
    y = np.zeros(x.shape[0])
    total = 0.0
    for k in range(3):
        y = y + x * 0.5
        total = total + np.sum(np.sin(x) * k) + np.sum(y * x)
    return total


def float32_only(x):
    u = x * x
    return np.sum(np.tanh(u) * x)


@pytest.mark.parametrize("target", ["python", "cpu"])
@pytest.mark.parametrize("fn", [float32_meets_float64_in_a_loop, float32_only], ids=lambda f: f.__name__)
def test_float32_arguments_get_float32_gradients(fn, target):
    """As in JAX, a float32 argument's gradient is float32, whatever precision the code computes
    in; its adjoint accumulates in float64 (adjoint_zero), so a loop carries one dtype."""
    x = np.linspace(0.1, 1.0, 5)
    got = on(target, tp.grad(fn))(x.astype(np.float32))
    assert got.dtype == np.float32
    want = tp.grad(fn)(x)
    assert want.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-5)
    check_against_differences(fn, (x,), 0, want)
