"""Derivative rules of NumPy (template names: see transpile/rules/__init__.py).

Conventions at kinks, as in JAX: |x| has slope 1 at 0; maximum/minimum split a tie evenly, as do
the max/min reductions among tied elements (fmax/fmin give it to the second argument); x ** y uses
log(1) for its slope in y where x == 0. Unlike JAX: x ** y has slope 0 in x where y == 0 (JAX 0.10:
nan), and np.clip gives a boundary tie wholly to `a` (JAX halves it). dot/matmul/inner take
operands of ndim <= 2.
"""
import re

import numpy as np

from . import defrule, nondiff


def _tangent(vjp, param="x"):
    """The jvp of an elementwise unary rule: its vjp with the cotangent g read as the tangent."""
    return re.sub(r"\bg\b", f"t_{param}", vjp)


# elementwise, one argument: vjp = g * f'(x), written with ans = f(x) where that is cheaper
for fns, vjp in [
    (np.negative,   "-g"),
    (np.positive,   "g"),
    ((np.abs, np.fabs), "select(x >= 0, g, -g)"),
    (np.sqrt,       "g * 0.5 / ans"),
    (np.cbrt,       "g / (3.0 * ans * ans)"),
    (np.square,     "g * 2.0 * x"),
    (np.exp,        "g * ans"),
    (np.exp2,       "g * ans * np.log(2.0)"),
    (np.expm1,      "g * (ans + 1.0)"),
    (np.log,        "g / x"),
    (np.log2,       "g / (x * np.log(2.0))"),
    (np.log10,      "g / (x * np.log(10.0))"),
    (np.log1p,      "g / (x + 1.0)"),
    (np.sin,        "g * np.cos(x)"),
    (np.cos,        "-(g * np.sin(x))"),
    (np.tan,        "g * (1.0 + ans * ans)"),
    (np.arcsin,     "g / np.sqrt(1.0 - x * x)"),
    (np.arccos,     "-g / np.sqrt(1.0 - x * x)"),
    (np.arctan,     "g / (1.0 + x * x)"),
    (np.sinh,       "g * np.cosh(x)"),
    (np.cosh,       "g * np.sinh(x)"),
    (np.tanh,       "g * (1.0 - ans * ans)"),
    (np.arcsinh,    "g / np.sqrt(x * x + 1.0)"),
    (np.arccosh,    "g / np.sqrt(x * x - 1.0)"),
    (np.arctanh,    "g / (1.0 - x * x)"),
    (np.reciprocal, "-(g * ans * ans)"),
]:
    defrule(fns, "x", vjp=[vjp], jvp=[_tangent(vjp)])

# copies and casts: np.copy(2.0) is a 0-d array, np.ascontiguousarray(2.0) 1-d, np.float64(a) a scalar
defrule((np.copy, np.ascontiguousarray, np.float64, np.float32), "x", vjp=["reshape_as(g, x)"],
        jvp=["reshape_as(t_x, ans)"])

# elementwise, two broadcasting arguments: each cotangent is summed back to its argument's shape
_FMAX, _FMIN = "np.logical_or(x > y, np.isnan(y))", "np.logical_or(x < y, np.isnan(y))"
_DPOW_X = "select(y == 0, 0.0, y * np.power(x, y - 1))"
_DPOW_Y = "np.log(select(x == 0, 1.0, x)) * ans"
_BINARY = [
    (np.add,         "g",                              "g"),
    (np.subtract,    "g",                              "-g"),
    (np.multiply,    "g * y",                          "g * x"),
    (np.true_divide, "g / y",                          "-g * ans / y"),
    (np.power,       f"g * {_DPOW_X}",                 f"g * {_DPOW_Y}"),
    ((np.maximum, np.minimum), "g * balanced_eq(x, ans, y)", "g * balanced_eq(y, ans, x)"),
    (np.fmax,        f"select({_FMAX}, g, 0.0)",       f"select({_FMAX}, 0.0, g)"),
    (np.fmin,        f"select({_FMIN}, g, 0.0)",       f"select({_FMIN}, 0.0, g)"),
    (np.arctan2,     "g * y / (x * x + y * y)",        "-g * x / (x * x + y * y)"),
    (np.hypot,       "g * x / ans",                    "g * y / ans"),
    (np.logaddexp,   "g * np.exp(x - ans)",            "g * np.exp(y - ans)"),
    (np.logaddexp2,  "g * np.exp2(x - ans)",           "g * np.exp2(y - ans)"),
    (np.mod,         "g",                              "-g * np.floor_divide(x, y)"),
]
for fns, dx, dy in _BINARY:
    defrule(fns, "x, y", vjp=[f"unbroadcast({dx}, x)", f"unbroadcast({dy}, y)"],
            jvp=[_tangent(dx), _tangent(dy, "y")])

defrule(np.where, "condition, x, y",
        vjp=[None, "unbroadcast(select(condition, g, 0.0), x)", "unbroadcast(select(condition, 0.0, g), y)"],
        jvp=[None, "select(condition, t_x, 0.0)", "select(condition, 0.0, t_y)"])
defrule(np.clip, "a, a_min=None, a_max=None",
        vjp=["unbroadcast(select(ans == a, g, 0.0), a)", "unbroadcast(select(a < a_min, g, 0.0), a_min)",
             "unbroadcast(select(a > a_max, g, 0.0), a_max)"],
        jvp=["select(ans == a, t_a, 0.0)", "select(a < a_min, t_a_min, 0.0)", "select(a > a_max, t_a_max, 0.0)"])

# reductions: axis None, int or tuple; keepdims; the reduce_* helpers are np.* that Numba compiles
_AXIS = "a, axis=None, *, keepdims=False"
_MOMENTS = "a, axis=None, *, ddof=0, keepdims=False"
_CENTERED = "(a - reduce_mean(a, axis, True))"
_DOF = "(reduced_size(a, axis) - ddof)"
_CHOSEN = "chooser_weights(a, ans, axis)"
defrule(np.sum,  _AXIS, vjp=["sum_vjp(g, a, axis, keepdims)"], jvp=["reduce_sum(t_a, axis, keepdims)"])
defrule(np.mean, _AXIS, vjp=["mean_vjp(g, a, axis, keepdims)"], jvp=["reduce_mean(t_a, axis, keepdims)"])
defrule(np.prod, _AXIS, vjp=["sum_vjp(g, a, axis, keepdims) * prod_others(a, axis)"],
        jvp=["reduce_sum(t_a * prod_others(a, axis), axis, keepdims)"])
defrule((np.max, np.amax, np.min, np.amin), _AXIS, vjp=[f"sum_vjp(g, a, axis, keepdims) * {_CHOSEN}"],
        jvp=[f"reduce_sum(t_a * {_CHOSEN}, axis, keepdims)"])
defrule(np.var, _MOMENTS, vjp=[f"sum_vjp(g, a, axis, keepdims) * (2.0 * {_CENTERED} / {_DOF})"],
        jvp=[f"reduce_sum(t_a * {_CENTERED}, axis, keepdims) * (2.0 / {_DOF})"])
defrule(np.std, _MOMENTS, vjp=[f"sum_vjp(g / ans, a, axis, keepdims) * ({_CENTERED} / {_DOF})"],
        jvp=[f"reduce_sum(t_a * {_CENTERED}, axis, keepdims) / (ans * {_DOF})"])
defrule(np.cumsum, "a, axis=None",
        vjp=["reshape_as(g - np.cumsum(g, axis=axis) + broadcast_like(reduce_sum(g, axis, True), g), a)"],
        jvp=["np.cumsum(t_a, axis=axis)"])

# linear algebra (operands of ndim <= 2)
defrule((np.dot, np.matmul), "a, b", vjp=["dot_vjp_a(g, a, b)", "dot_vjp_b(g, a, b)"],
        jvp=["np.dot(t_a, b)", "np.dot(a, t_b)"])
defrule(np.inner, "a, b", vjp=["dot_vjp_a(g, a, np.transpose(b))", "np.transpose(dot_vjp_b(g, a, np.transpose(b)))"],
        jvp=["np.dot(t_a, np.transpose(b))", "np.dot(a, np.transpose(t_b))"])
defrule(np.outer, "a, b", vjp=["reshape_as(np.dot(g, np.ravel(b)), a)", "reshape_as(np.dot(np.ravel(a), g), b)"],
        jvp=["np.outer(t_a, b)", "np.outer(a, t_b)"])
defrule(np.vdot, "a, b", vjp=["g * reshape_as(b, a)", "g * reshape_as(a, b)"],
        jvp=["np.vdot(t_a, b)", "np.vdot(a, t_b)"])
defrule(np.trace, "a", vjp=["g * eye_like(a)"], jvp=["np.trace(t_a)"])
defrule(np.linalg.norm, "x", vjp=["g * x / ans"], jvp=["np.sum(t_x * x) / ans"])
defrule(np.linalg.inv, "a", vjp=["-(np.transpose(ans) @ g @ np.transpose(ans))"], jvp=["-(ans @ t_a @ ans)"])
defrule(np.linalg.det, "a", vjp=["g * ans * np.transpose(np.linalg.inv(a))"],
        jvp=["ans * np.trace(np.linalg.solve(a, t_a))"])
defrule(np.linalg.solve, "a, b",
        vjp=["-dot_vjp_a(np.linalg.solve(np.transpose(a), g), a, ans)", "np.linalg.solve(np.transpose(a), g)"],
        jvp=["-np.linalg.solve(a, np.dot(t_a, ans))", "np.linalg.solve(a, t_b)"])

# shape operations: the cotangent goes back through the inverse rearrangement
for fn, spec in [(np.reshape, "a, shape"), (np.ravel, "a"), (np.squeeze, "a, axis=None"),
                 (np.expand_dims, "a, axis")]:
    defrule(fn, spec, vjp=["reshape_as(g, a)"], jvp=["reshape_as(t_a, ans)"])
defrule(np.broadcast_to, "array, shape", vjp=["unbroadcast(g, array)"], jvp=["broadcast_like(t_array, ans)"])
defrule(np.transpose, "a, axes=None", vjp=["untranspose(g, axes)"], jvp=["np.transpose(t_a, axes)"])
defrule(np.swapaxes, "a, axis1, axis2", vjp=["np.swapaxes(g, axis1, axis2)"], jvp=["np.swapaxes(t_a, axis1, axis2)"])
defrule(np.flip, "m, axis=None", vjp=["flip_axes(g, axis)"], jvp=["flip_axes(t_m, axis)"])
defrule((np.concatenate, np.stack), "*arrays, axis=0", vjp=["split_like(g, arrays, axis)"],
        jvp=["join_like(t_arrays, ans, axis)"])
defrule(np.hstack, "*tup", vjp=["split_like(g, tup, hstack_axis(g))"], jvp=["join_like(t_tup, ans, hstack_axis(ans))"])
defrule(np.vstack, "*tup", vjp=["split_like(g, tup, 0)"], jvp=["join_like(t_tup, ans, 0)"])
defrule(np.array, "*object, dtype=None", vjp=["split_like(g, object, 0)"], jvp=["join_like(t_object, ans, 0)"])
defrule(np.asarray, "*a, dtype=None", vjp=["split_like(g, a, 0)"], jvp=["join_like(t_a, ans, 0)"])

# creation with a differentiable fill value
defrule(np.full, "shape, fill_value, dtype=None", vjp=[None, "unbroadcast(g, fill_value)"],
        jvp=[None, "broadcast_like(t_fill_value, ans)"])
defrule(np.full_like, "a, fill_value, dtype=None", vjp=[None, "unbroadcast(g, fill_value)"],
        jvp=[None, "broadcast_like(t_fill_value, ans)"])

# outputs that are constants for differentiation: creation, shape queries, predicates, rounding
nondiff(np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.arange, np.linspace,
        np.eye, np.identity, np.shape, np.size, np.ndim, np.isnan, np.isinf, np.isfinite, np.isclose,
        np.allclose, np.array_equal, np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero,
        np.count_nonzero, np.searchsorted, np.any, np.all, np.logical_and, np.logical_or, np.logical_not,
        np.logical_xor, np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
        np.sign, np.signbit, np.heaviside, np.floor, np.ceil, np.round, np.around, np.rint, np.trunc,
        np.fix, np.floor_divide, np.int64, np.int32, np.bool_,
        np.random.rand, np.random.randn, np.random.random, np.random.normal, np.random.uniform,
        np.random.randint, np.random.seed)
