"""Derivative rules of the runtime helpers that templates call, so generated code can itself be
differentiated. Most helpers are linear in their first argument and come in transpose pairs:
unbroadcast/broadcast_like, sum_vjp/reduce_sum, split_like/join_like, dot_vjp_a/np.dot
(summed_dot_vjp_a is dot_vjp_a summed down to a broadcast operand)."""
import numpy as np

from .. import runtime as rt
from . import defcarrier, defrule, lookup, nondiff

_REDUCE = "x, axis, keepdims"
defrule(rt.unbroadcast,    "v, x", vjp=["broadcast_like(g, v)"], jvp=["unbroadcast(t_v, x)"])
defrule(rt.broadcast_like, "v, x", vjp=["unbroadcast(g, v)"],    jvp=["broadcast_like(t_v, x)"])
defrule(rt.reshape_as,     "v, x", vjp=["reshape_as(g, v)"],     jvp=["reshape_as(t_v, x)"])
defrule(rt.select, "cond, a, b", vjp=[None, "unbroadcast(select(cond, g, 0.0), a)", "unbroadcast(select(cond, 0.0, g), b)"],
        jvp=[None, "select(cond, t_a, 0.0)", "select(cond, 0.0, t_b)"])
defrule(rt.reduce_sum,  _REDUCE, vjp=["sum_vjp(g, x, axis, keepdims)"],  jvp=["reduce_sum(t_x, axis, keepdims)"])
defrule(rt.reduce_mean, _REDUCE, vjp=["mean_vjp(g, x, axis, keepdims)"], jvp=["reduce_mean(t_x, axis, keepdims)"])
defrule(rt.reduce_prod, _REDUCE, vjp=["sum_vjp(g, x, axis, keepdims) * prod_others(x, axis)"],
        jvp=["reduce_sum(t_x * prod_others(x, axis), axis, keepdims)"])
defrule((rt.reduce_max, rt.reduce_min), _REDUCE, vjp=["sum_vjp(g, x, axis, keepdims) * chooser_weights(x, ans, axis)"],
        jvp=["reduce_sum(t_x * chooser_weights(x, ans, axis), axis, keepdims)"])
defrule(rt.sum_vjp,  "v, x, axis, keepdims", vjp=["reduce_sum(g, axis, keepdims)"],  jvp=["sum_vjp(t_v, x, axis, keepdims)"])
defrule(rt.mean_vjp, "v, x, axis, keepdims", vjp=["reduce_mean(g, axis, keepdims)"], jvp=["mean_vjp(t_v, x, axis, keepdims)"])
# d(prod of the others)/dx divides by x: exact away from zeros (first derivatives are exact everywhere)
defrule(rt.prod_others, "x, axis", vjp=["(sum_vjp(reduce_sum(g * ans, axis, True), x, axis, True) - g * ans) / x"],
        jvp=["ans * (sum_vjp(reduce_sum(t_x / x, axis, True), x, axis, True) - t_x / x)"])
defrule(rt.untranspose, "v, axes", vjp=["np.transpose(g, axes)"], jvp=["untranspose(t_v, axes)"])
defrule(rt.flip_axes, "v, axis", vjp=["flip_axes(g, axis)"], jvp=["flip_axes(t_v, axis)"])
defrule(rt.split_like, "v, arrays, axis", vjp=["join_like(g, v, axis)"], jvp=["split_like(t_v, arrays, axis)"])
defrule(rt.join_like, "*pieces, v, axis", vjp=["split_like(g, pieces, axis)"], jvp=["join_like(t_pieces, v, axis)"])
defrule(rt.dot_vjp_a, "v, a, b", vjp=["np.dot(g, b)", None, "dot_vjp_b(v, g, b)"],
        jvp=["dot_vjp_a(t_v, a, b)", None, "dot_vjp_a(v, a, t_b)"])
defrule(rt.summed_dot_vjp_a, "v, a, b, like", vjp=["np.dot(broadcast_like(g, a), b)", None, "dot_vjp_b(v, broadcast_like(g, a), b)", None],
        jvp=["summed_dot_vjp_a(t_v, a, b, like)", None, "summed_dot_vjp_a(v, a, t_b, like)", None])
defrule(rt.dot_vjp_b, "v, a, b", vjp=["np.dot(a, g)", "dot_vjp_a(v, a, g)", None],
        jvp=["dot_vjp_b(t_v, a, b)", "dot_vjp_b(v, t_a, b)", None])
defrule(rt.saved_copy, "value", vjp=["g"], jvp=["saved_copy(t_value)"])
# The adjoint of a tape keeps the tape's final capacity: the slots a reserve adds are zero again by
# the time its adjoint runs, so the cotangent passes through. Pushes and pops are in-place writes
# and reads by index (transforms/tape.py), differentiated as such.
defrule(rt.tape_reserve, "tape, last", vjp=["g"], jvp=["tape_reserve(t_tape, last)"])


def _twin(fn, numpy_fn, spec):
    """`fn` computes `numpy_fn` in a form Numba compiles (transforms/lower.py): the same templates."""
    rule = lookup(numpy_fn)
    defrule(fn, spec, vjp=rule.vjp, jvp=rule.jvp)


_twin(rt.reduce_var, np.var, "a, axis, ddof, keepdims")
_twin(rt.reduce_std, np.std, "a, axis, ddof, keepdims")
_twin(rt.inner, np.inner, "a, b")
_twin(rt.squeeze_axes, np.squeeze, "a, axis")
defrule(rt.matmul, "a, b", vjp=["dot_vjp_a(g, a, b)", "dot_vjp_b(g, a, b)"], jvp=["np.dot(t_a, b)", "np.dot(a, t_b)"])

# Jacobian assembly (transforms/jacobian.py)
defrule(rt.flat_values, "v", vjp=["reshape_as(g, v)"], jvp=["flat_values(t_v)"])
defrule(rt.cast_like, "v, x", vjp=["cast_like(g, v)", None], jvp=["cast_like(t_v, x)", None])
defrule(rt.jacobian_shaped, "matrix, out, x", vjp=["reshape_as(g, matrix)"], jvp=["jacobian_shaped(t_matrix, out, x)"])

# a list tape's restore: the tangent list tape is restored alongside
defcarrier(rt.tape_restore, "stack, current", jvp="tape_restore(t_stack, t_current)")

# shape_stand_in, shape_restore: values saved and restored only for their shape
nondiff(rt.zero_like, rt.adjoint_zero, rt.shape_stand_in, rt.shape_restore, rt.balanced_eq, rt.chooser_weights, rt.reduced_size, rt.hstack_axis, rt.eye_like,
        rt.stop_gradient, rt.grad_seed, rt.new_tape, rt.range_length, rt.batch_alloc, rt.check_batch_size,
        rt.flat_size, rt.basis_vector)
