"""Batching rules (vmap's vectorize strategy), and the derivative rules of the helpers that vmapped
code calls, so that grad of a vmapped function works."""
import math as _math

import numpy as np

from .. import runtime as rt
from . import defrule

defrule(rt.move_axis, "x, source, destination", vjp=["move_axis(g, destination, source)"],
        jvp=["move_axis(t_x, source, destination)"])
defrule(rt.erf_elementwise, "x", vjp=["g * 2.0 / math.sqrt(math.pi) * np.exp(-(x * x))"],
        jvp=["t_x * 2.0 / math.sqrt(math.pi) * np.exp(-(x * x))"])
defrule(rt.scale_rows, "v, a", vjp=["reduce_sum(g * a, 1, False)", "scale_rows(v, g)"],
        jvp=["scale_rows(t_v, a)", "scale_rows(v, t_a)"])
defrule(rt.scale_rows_parallel, "v, a", vjp=["reduce_sum(g * a, 1, False)", "scale_rows_parallel(v, g)"],
        jvp=["scale_rows_parallel(t_v, a)", "scale_rows_parallel(v, t_a)"])
defrule(rt.matmul_rows_parallel, "a, b", vjp=["dot_vjp_a(g, a, b)", "dot_vjp_b(g, a, b)"],
        jvp=["matmul_rows_parallel(t_a, b)", "matmul_rows_parallel(a, t_b)"])
defrule(rt.batch_broadcast, "x, n", vjp=["reduce_sum(g, 0, False)"], jvp=["batch_broadcast(t_x, n)"])


# ---- batching rules: how vmap's vectorize strategy runs one operation on a whole batch -----------
# Batched values carry the batch on axis 0. Kinds of rule (transforms/vectorize.py applies them):
#   ("elementwise", f)  f broadcasts: operands are aligned (batch axis first) and f is called on them
#   ("reduce", helper)  a reduction: its axes shift by one, axis=None becomes every example axis
#   ("matmul",)         a @ b with one side batched becomes one matrix-matrix or matrix-vector product
#   ("one",)            the value is the constant 1.0 for every example (the seed of a gradient)
#   ("unbroadcast",)    the reverse-mode helper summing a cotangent to an operand's shape
#   ("scale", {ranks: (s, v)})  for these example ranks of the arguments (one per argument), per example
#                       the scalar argument s times the vector argument v: one scale_rows call when
#                       both are batched, else the elementwise product s * v
_UNARY_MATH = ["exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "sin", "cos", "tan", "asin",
               "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "fabs", "floor",
               "ceil", "trunc", "isnan", "isinf", "isfinite"]
_NUMPY_NAME = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
               "acosh": "arccosh", "atanh": "arctanh"}

BATCH_RULES = {}
for _name in _UNARY_MATH:
    BATCH_RULES[getattr(_math, _name)] = ("elementwise", getattr(np, _NUMPY_NAME.get(_name, _name)))
BATCH_RULES[_math.pow] = ("elementwise", np.power)
BATCH_RULES[_math.atan2] = ("elementwise", np.arctan2)
BATCH_RULES[_math.hypot] = ("elementwise", np.hypot)
BATCH_RULES[abs] = ("elementwise", np.abs)
BATCH_RULES[_math.erf] = ("elementwise", rt.erf_elementwise)
BATCH_RULES[rt.select] = ("elementwise", rt.select)
for _fn, _helper in [(np.sum, rt.reduce_sum), (np.mean, rt.reduce_mean), (np.max, rt.reduce_max),
                     (np.min, rt.reduce_min), (np.prod, rt.reduce_prod), (np.amax, rt.reduce_max),
                     (np.amin, rt.reduce_min)] + [(h, h) for h in (rt.reduce_sum, rt.reduce_mean, rt.reduce_max,
                                                                   rt.reduce_min, rt.reduce_prod)]:
    BATCH_RULES[_fn] = ("reduce", _helper)
for _fn in (np.matmul, np.dot, rt.matmul, rt.matmul_rows_parallel):
    BATCH_RULES[_fn] = ("matmul",)
BATCH_RULES[rt.grad_seed] = ("one",)
BATCH_RULES[rt.unbroadcast] = ("unbroadcast",)
BATCH_RULES[rt.cast_like] = ("elementwise", rt.cast_like)
BATCH_RULES[rt.dot_vjp_a] = ("scale", {(0, 1, 1): ("v", "b")})
BATCH_RULES[rt.dot_vjp_b] = ("scale", {(0, 1, 1): ("v", "a")})


def batch_rule(fn):
    """The batching rule of `fn` (ufuncs are elementwise), or None."""
    if isinstance(fn, np.ufunc):
        return ("elementwise", fn)
    try:
        return BATCH_RULES.get(fn)
    except TypeError:
        return None
