"""Forward mode through the public API (tp.jvp, jacfwd, jacrev, hessian) on the functions of
grad_cases.py, as Python and under tp.jit, and its compositions with reverse mode.

References are independent of transpile: central finite differences in float64, closed forms, and
JAX (x64) where it is installed and can run the function (it cannot write into arrays).
"""
import functools
import zlib

import grad_cases as gc
import numpy as np
import pytest
from test_grad import CASES, assert_tree_close, jax, jax_or_skip, jax_version, leaves, on, rebuild

import transpile as tp

EPS = 1e-6


# -- cases: one per function and input (test_grad repeats a function for several argnums) --------

def _unique(cases):
    seen, out = set(), []
    for case in cases:
        key = case.id.split("-argnums")[0]
        if key not in seen and case.expected is None:
            seen.add(key)
            out.append(case)
    return out


def is_float(leaf):
    return np.issubdtype(np.result_type(leaf), np.floating)


def tangents_for(case):
    """A random direction per floating-point leaf; integer arguments get (ignored) zero tangents."""
    r = np.random.default_rng(zlib.crc32(("tangent " + case.id).encode()))

    def one(leaf):
        if not is_float(leaf):
            return leaf * 0
        return r.normal(size=np.shape(leaf)) if isinstance(leaf, np.ndarray) else float(r.normal())

    return tuple(rebuild(arg, iter([one(leaf) for leaf in leaves(arg)])) for arg in case.args)


def moved(args, tangents, step):
    """args + step * tangents on the floating-point leaves."""
    return tuple(rebuild(a, iter([p + step * t if is_float(p) else p for p, t in zip(leaves(a), leaves(ta))]))
                 for a, ta in zip(args, tangents))


def directional_difference(f, args, tangents):
    """Central difference of f along the tangents: the reference for the jvp's tangent output."""
    up, down = f(*moved(args, tangents, EPS)), f(*moved(args, tangents, -EPS))
    return rebuild(up, iter([(np.asarray(u) - np.asarray(d)) / (2 * EPS) for u, d in zip(leaves(up), leaves(down))]))


JVP_CASES = _unique(CASES)
# Under jit: a representative set (every construct: loops, branches, writes, helpers, pytrees, rules)
JIT_NAMES = {
    "straight_line", "straight_line_arrays", "logistic_loss", "if_elif_else[x=1.7]",
    "branch_on_array_value[negative]", "range_two_args", "range_three_args", "loop_over_array",
    "loop_over_rows", "loop_zip", "nested_loops", "loop_carried_state", "while_newton_sqrt",
    "while_data_stop[stops]", "break_in_loop[breaks]", "continue_in_loop", "while_break_continue",
    "early_return[x=-0.7]", "multiple_returns[x=0.5]", "return_in_loop[returns]",
    "return_in_nested_loops[returns]", "index_reads", "index_reads_2d", "write_elements", "augmented_writes",
    "write_columns", "overwrite_same_element", "recurrence_writes", "write_rows_2d", "write_on_copy",
    "calls_helper", "helper_chain", "helper_keywords", "uses_closure", "helper_in_loop", "helper_pair",
    "helper_with_loop_and_writes", "three_args", "mlp", "nested_params", "builtins_on_array",
}
RUNS = [(case, "python") for case in JVP_CASES] + \
    [(case, "cpu") for case in JVP_CASES if case.id.split("-argnums")[0] in JIT_NAMES]
assert len({c.id.split("-argnums")[0] for c, t in RUNS if t == "cpu"}) >= 40


@functools.cache
def jvp_result(case, target):
    return tp.jvp(on(target, case.fn), case.args, tangents_for(case))


@pytest.mark.parametrize("case, target", RUNS, ids=[f"{c.id}-{t}" for c, t in RUNS])
def test_jvp_against_differences(case, target):
    out, tangent_out = jvp_result(case, target)
    assert_tree_close(out, case.fn(*case.args), rtol=1e-12, atol=1e-12)
    expected = directional_difference(case.fn, case.args, tangents_for(case))
    scale = 1.0 + max(float(np.max(np.abs(leaf))) for leaf in leaves(out))
    assert_tree_close(tangent_out, expected, rtol=1e-6, atol=1e-8 * scale)


# JAX checks the rules' conventions (kinks, broadcasting, linear algebra); differences check the rest
RULE_FAMILIES = ("unary_", "arithmetic_", "power_", "max_min_", "fmax_", "arctan2_", "logaddexp_", "where_",
                 "sum_mean_", "prod_", "var_", "cumsum_", "reduction_", "dot_", "outer_", "trace_", "inv_",
                 "reshape_", "swapaxes_", "broadcast_", "concatenate_", "hstack_", "flip_", "copy_", "creation_",
                 "math_", "builtins_", "array_methods", "logistic_loss", "mlp", "helper_pair", "while_newton")
JAX_CASES = [c for c in JVP_CASES if c.fn.__name__.startswith(RULE_FAMILIES)
             and all(is_float(leaf) for a in c.args for leaf in leaves(a))]


@pytest.mark.skipif(jax is None, reason="JAX is not installed")
@pytest.mark.parametrize("case", JAX_CASES, ids=[c.id for c in JAX_CASES])
def test_jvp_matches_jax(case):
    expected = jax_or_skip(lambda: jax.jvp(jax_version(case.fn), case.args, tangents_for(case)))
    out, tangent_out = jvp_result(case, "python")
    assert_tree_close(out, expected[0], rtol=1e-10, atol=1e-12)
    assert_tree_close(tangent_out, expected[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fn", [gc.stop_gradient_scale, gc.stop_gradient_in_loop])
def test_jvp_of_stop_gradient(fn, target):
    """The closed-form derivative with the stopped factor held constant."""
    x, v = np.array([0.3, -0.2, 0.7, 0.1]), np.array([1.0, 2.0, -1.0, 0.5])
    expected = {gc.stop_gradient_scale: np.exp(x),
                gc.stop_gradient_in_loop: np.cumprod(np.r_[1.0, 1.0 + x[:-1]])}[fn]
    _, tangent = tp.jvp(on(target, fn), (x,), (v,))
    assert tangent == pytest.approx(np.dot(expected, v), rel=1e-12)


# -- vector outputs and Jacobians ---------------------------------------------------------------

def spiral(t):
    return np.array([np.cos(t) * t, np.sin(t) * t, t * t])


def vector_cases():
    r = np.random.default_rng(7)
    return [
        (gc.vector_output, (r.uniform(-1, 1, 4),)),
        (gc.vector_map, (r.uniform(-1, 1, 3), r.uniform(-1, 1, 3))),
        (gc.matrix_map, (r.uniform(-1, 1, (2, 3)),)),
        (gc.cumulative_sines, (r.uniform(-1, 1, 5),)),
        (spiral, (0.7,)),
        (gc.while_newton_sqrt, (2.0,)),
    ]


def with_targets(cases, compiled):
    """Every case as Python; those named in `compiled` also under jit (Numba compiles take seconds)."""
    runs = [(*case, "python") for case in cases]
    runs += [(*case, "cpu") for case in cases if case[0].__name__ in compiled]
    return runs, [f"{case[0].__name__}-{target}" for *case, target in runs]


VECTOR_CASES = vector_cases()
VECTOR_RUNS, VECTOR_IDS = with_targets(VECTOR_CASES, {"cumulative_sines"})


def numeric_jacobian(f, args, k):
    """d f / d args[k] by central differences, shape out.shape + in.shape."""
    x = np.asarray(args[k], dtype=float)
    columns = []
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = EPS
        at = [list(args), list(args)]
        at[0][k] = x + step if x.ndim else float(x + step)
        at[1][k] = x - step if x.ndim else float(x - step)
        columns.append((np.asarray(f(*at[0])) - np.asarray(f(*at[1]))) / (2 * EPS))
    out_shape = np.shape(f(*args))
    return np.moveaxis(np.array(columns), 0, -1).reshape(out_shape + x.shape)


@pytest.mark.parametrize("fn, args, target", VECTOR_RUNS, ids=VECTOR_IDS)
def test_jacfwd_equals_jacrev_and_differences(fn, args, target):
    for k in range(len(args)):
        expected = numeric_jacobian(fn, args, k)
        forward = on(target, tp.jacfwd(fn, argnums=k))(*args)
        backward = on(target, tp.jacrev(fn, argnums=k))(*args)
        assert np.shape(forward) == np.shape(backward) == expected.shape
        np.testing.assert_allclose(forward, backward, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(forward, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fn, args, target", VECTOR_RUNS, ids=VECTOR_IDS)
def test_vector_jvp_against_differences(fn, args, target):
    tangents = tuple(np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args)
    out, tangent_out = tp.jvp(on(target, fn), args, tangents)
    np.testing.assert_allclose(out, fn(*args), rtol=1e-12)
    np.testing.assert_allclose(tangent_out, directional_difference(fn, args, tangents), rtol=1e-6, atol=1e-8)


def test_tuple_argnums_give_a_tuple_of_jacobians():
    x, y = np.array([0.3, -0.4, 0.9]), np.array([0.2, 0.5, -0.1])
    for jac in (tp.jacfwd, tp.jacrev):
        jx, jy = jac(gc.vector_map, argnums=(0, 1))(x, y)
        np.testing.assert_allclose(jx, numeric_jacobian(gc.vector_map, (x, y), 0), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(jy, numeric_jacobian(gc.vector_map, (x, y), 1), rtol=1e-6, atol=1e-8)


@pytest.mark.skipif(jax is None, reason="JAX is not installed")
def test_jacobians_match_jax():
    x, y = np.array([0.3, -0.4, 0.9]), np.array([0.2, 0.5, -0.1])
    expected = jax.jacfwd(jax_version(gc.vector_map), argnums=(0, 1))(x, y)
    for jac in (tp.jacfwd, tp.jacrev):
        assert_tree_close(jac(gc.vector_map, argnums=(0, 1))(x, y), tuple(map(np.asarray, expected)),
                          rtol=1e-12, atol=1e-12)


def test_jacobian_loops_over_basis_vectors_in_generated_code():
    """One generated function loops over the basis; the derivative is not called per column."""
    for jac, inner in ((tp.jacfwd, "vector_map_jvp"), (tp.jacrev, "vector_map_vjp")):
        source = tp.show(jac(gc.vector_map))
        body = source.split(f"def vector_map_{jac.__name__}")[1]
        assert "for j in range(1, size_x, 1):" in body or "for i in range(1, size_out, 1):" in body
        assert body.count(inner + "(") == 2  # the first basis vector, then the loop


# -- second derivatives ---------------------------------------------------------------------------

SECOND_ORDER = [
    (gc.straight_line_arrays, (np.array([0.3, -0.5, 0.8, 0.1]), np.linspace(-1, 1, 12).reshape(3, 4))),
    (gc.logistic_loss, (np.array([0.2, -0.4, 0.6]), np.linspace(-1, 1, 18).reshape(6, 3),
                        np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0]))),
    (gc.recurrence_writes, (np.array([0.5, -0.3, 0.8, 0.2]),)),
    (gc.loop_over_rows, (np.linspace(-1, 1, 12).reshape(4, 3),)),
    (gc.helper_in_loop, (np.array([0.3, -0.2, 0.4]),)),
    (gc.write_elements, (np.array([0.3, -0.6, 0.9]),)),
]
SECOND_RUNS, SECOND_IDS = with_targets(SECOND_ORDER, {"recurrence_writes"})


def numeric_hessian(fn, args):
    """Central differences of the gradient (the gradient itself is checked in test_grad.py)."""
    grad = tp.grad(fn)
    return numeric_jacobian(lambda *a: grad(*a), args, 0)


@pytest.mark.parametrize("fn, args, target", SECOND_RUNS, ids=SECOND_IDS)
def test_hessian_symmetric_and_equal_to_differences_of_grad(fn, args, target):
    h = on(target, tp.hessian(fn))(*args)
    n = np.size(args[0])
    assert h.shape == np.shape(args[0]) * 2
    flat = h.reshape(n, n)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, numeric_hessian(fn, args), rtol=1e-6, atol=1e-7)


@pytest.mark.skipif(jax is None, reason="JAX is not installed")
def test_hessian_matches_jax():
    fn, args = SECOND_ORDER[1]
    expected = np.asarray(jax.hessian(jax_version(fn))(*args))
    np.testing.assert_allclose(tp.hessian(fn)(*args), expected, rtol=1e-10, atol=1e-12)


def test_hessian_of_scalar_function():
    x = 0.7
    assert tp.hessian(gc.poly_exp)(x) == pytest.approx(numeric_hessian(gc.poly_exp, (x,)), rel=1e-6)


# Hessian-vector products in three orders; V is the direction, read as a global by the functions.
V = np.array([0.5, -1.0, 0.25, 2.0])
HVP_X = np.array([0.3, -0.2, 0.6, 0.4])


def recurrence_directional(x):
    return tp.jvp(gc.recurrence_writes, (x,), (V,))[1]


def poly_directional(x):
    return tp.jvp(gc.unary_trig, (x,), (V,))[1]


grad_recurrence = tp.grad(gc.recurrence_writes)
grad_trig = tp.grad(gc.unary_trig)


def recurrence_gradient_along(x):
    return np.vdot(grad_recurrence(x), V)


def trig_gradient_along(x):
    return np.vdot(grad_trig(x), V)


HVP_CASES = [(gc.recurrence_writes, recurrence_directional, recurrence_gradient_along),
             (gc.unary_trig, poly_directional, trig_gradient_along)]


@pytest.mark.parametrize("fn, directional, along", HVP_CASES, ids=[c[0].__name__ for c in HVP_CASES])
def test_hessian_vector_products_in_three_orders(fn, directional, along):
    expected = numeric_hessian(fn, (HVP_X,)) @ V
    forward_over_reverse = tp.jvp(tp.grad(fn), (HVP_X,), (V,))[1]
    reverse_over_forward = tp.grad(directional)(HVP_X)
    np.testing.assert_allclose(forward_over_reverse, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(reverse_over_forward, forward_over_reverse, rtol=1e-12, atol=1e-12)
    reverse_over_reverse = tp.grad(along)(HVP_X)
    np.testing.assert_allclose(reverse_over_reverse, forward_over_reverse, rtol=1e-12, atol=1e-12)


# -- composition ----------------------------------------------------------------------------------

FWD_OVER_REV = [c for c in JVP_CASES if c.id.split("-argnums")[0] in {
    "range_three_args", "loop_carried_state", "while_newton_sqrt", "while_data_stop[stops]", "break_in_loop[breaks]",
    "while_break_continue", "return_in_nested_loops[returns]", "augmented_writes", "overwrite_same_element",
    "write_rows_2d", "write_on_copy", "nested_loops", "helper_with_loop_and_writes", "math_in_loop"}]


@pytest.mark.parametrize("case", FWD_OVER_REV, ids=[c.id for c in FWD_OVER_REV])
def test_jvp_of_grad_against_differences_of_grad(case):
    """Forward over reverse through tapes of loops, branches and overwritten array elements."""
    grad = tp.grad(case.fn)
    _, tangent = tp.jvp(grad, case.args, tangents_for(case))
    expected = directional_difference(grad, case.args, tangents_for(case))
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-7)


def jvp_inside(x, v):
    return tp.jvp(gc.calls_helper, (x,), (v,))


def test_jit_of_a_function_calling_jvp():
    x, v = np.array([0.3, -0.2, 0.6]), np.array([1.0, 0.5, -2.0])
    out, tangent = tp.jit(jvp_inside)(x, v)
    assert out == pytest.approx(gc.calls_helper(x), rel=1e-12)
    assert tangent == pytest.approx(directional_difference(gc.calls_helper, (x,), (v,)), rel=1e-6)


def test_jvp_of_grad_agrees_across_targets():
    x, v = np.array([0.3, -0.2, 0.6, 0.1, 0.9]), np.array([1.0, 0.5, -2.0, 0.3, 0.2])
    grad = tp.grad(gc.helper_with_loop_and_writes)
    python = tp.jvp(grad, (x,), (v,))
    compiled = tp.jvp(tp.jit(grad), (x,), (v,))
    assert_tree_close(compiled, python, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(python[1], directional_difference(grad, (x,), (v,)), rtol=1e-6, atol=1e-8)


def test_jvp_calls_the_helpers_jvp():
    """Generated code: the helper's own jvp is called, tangents sit beside their primal lines."""
    source = tp.show(jvp_inside)
    assert "def square_jvp(v, t_v):" in source
    assert "square_jvp(x, t_x)" in source
    assert "# grad_cases.py:" in source


def test_jvp_of_vmap():
    """vmap's loop over examples is ordinary code to forward mode: rows are independent."""
    X, T = np.linspace(-1, 1, 12).reshape(4, 3), np.linspace(0.5, -0.5, 12).reshape(4, 3)
    batched = tp.vmap(gc.write_elements)
    out, tangent = tp.jvp(batched, (X,), (T,))
    np.testing.assert_allclose(out, [gc.write_elements(row) for row in X], rtol=1e-12)
    np.testing.assert_allclose(tangent, [directional_difference(gc.write_elements, (r,), (t,)) for r, t in zip(X, T)],
                               rtol=1e-6, atol=1e-8)


def test_pytree_primals_and_tangents(target):
    params = {"W1": np.full((3, 4), 0.1), "b1": np.zeros(4), "W2": np.full((4, 2), -0.2), "b2": np.ones(2)}
    x = np.linspace(-1, 1, 15).reshape(5, 3)
    t_params = {k: np.full(v.shape, 0.5) for k, v in params.items()}
    t_x = np.full(x.shape, -0.3)
    out, tangent = tp.jvp(on(target, gc.mlp), (params, x), (t_params, t_x))
    assert out == pytest.approx(gc.mlp(params, x), rel=1e-12)
    assert tangent == pytest.approx(directional_difference(gc.mlp, (params, x), (t_params, t_x)), rel=1e-6)


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("primals, tangents, message", [
    ((np.ones(3),), (np.ones(4),), "tangent 0 has shape (4,) but its primal has shape (3,)"),
    ((np.ones(3),), (np.ones(3, dtype=np.float32),), "tangent 0 has dtype float32"),
    ((1.0,), (1.0, 2.0), "1 primals but 2 tangents"),
    (np.ones(3), (np.ones(3),), "primals must be a tuple or list"),
    (((1.0, 2.0),), ([1.0, 2.0],), "does not have the structure of primal 0"),
])
def test_mismatched_tangents_are_refused(primals, tangents, message):
    with pytest.raises(TypeError) as info:
        tp.jvp(gc.sum_of_squares, primals, tangents)
    assert message in str(info.value)


def test_missing_rule_names_the_function(target):
    with pytest.raises(tp.MissingRuleError) as info:
        tp.jvp(on(target, gc.no_rule), (np.ones(3),), (np.ones(3),))
    assert "sinc" in str(info.value) and "grad_cases.py:" in str(info.value)


def dict_model(params, x):
    h = np.tanh(x @ params["w"] + params["b"])
    return h * params["scale"]


@pytest.mark.parametrize("target", ["python", "cpu"])
def test_jacobians_of_pytree_arguments_have_their_structure(target):
    rng = np.random.default_rng(3)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2), "scale": 0.7}
    x = rng.normal(size=(4, 3))
    for jac in (tp.jacfwd, tp.jacrev):
        got = on(target, jac(dict_model))(params, x)
        assert sorted(got) == ["b", "scale", "w"]
        for key in params:
            def of_leaf(value, key=key):
                return dict_model({**params, key: value}, x)
            expected = numeric_jacobian(of_leaf, (params[key],), 0)
            assert np.shape(got[key]) == (4, 2) + np.shape(params[key])
            np.testing.assert_allclose(got[key], expected, rtol=1e-6, atol=1e-8)
        got_params, got_x = on(target, jac(dict_model, argnums=(0, 1)))(params, x)
        np.testing.assert_allclose(got_params["b"], got["b"], rtol=1e-12)
        np.testing.assert_allclose(got_x, numeric_jacobian(lambda v: dict_model(params, v), (x,), 0),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.skipif(jax is None, reason="JAX is not installed")
def test_pytree_jacobians_match_jax():
    rng = np.random.default_rng(4)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2), "scale": 0.7}
    x = rng.normal(size=(4, 3))

    def jax_model(p, v):
        return jax.numpy.tanh(v @ p["w"] + p["b"]) * p["scale"]

    expected = jax.jacrev(jax_model)(params, x)
    for jac in (tp.jacfwd, tp.jacrev):
        got = jac(dict_model)(params, x)
        for key in params:
            np.testing.assert_allclose(got[key], np.asarray(expected[key]), rtol=1e-12, atol=1e-12)


def test_unsupported_jacobian_arguments_are_refused():
    with pytest.raises(TypeError, match="argnums must be an int"):
        tp.hessian(gc.three_args, argnums=(0, 1))


def test_integer_primals_get_no_tangent(target):
    x = np.array([0.3, 0.6])
    _, tangent = tp.jvp(on(target, gc.loop_carried_state), (x, 6), (np.array([1.0, 0.0]), 0))
    assert tangent == pytest.approx(directional_difference(lambda x: gc.loop_carried_state(x, 6), (x,),
                                                           (np.array([1.0, 0.0]),)), rel=1e-6)
