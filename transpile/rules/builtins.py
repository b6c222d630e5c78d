"""Derivative rules of Python builtins. min/max/sum have a rule per meaning; lookup_call picks one
by the number of positional arguments: max(a, b) is np.maximum, max(array) is np.max over all
elements, sum(array) is a sum over the first axis (what Python's sum does to an array)."""
import builtins

from . import defrule, nondiff

defrule(builtins.abs, "x", vjp=["select(x >= 0, g, -g)"], jvp=["select(x >= 0, t_x, -t_x)"])
defrule(builtins.float, "x", vjp=["reshape_as(g, x)"], jvp=["reshape_as(t_x, ans)"])
defrule(builtins.pow, "x, y", vjp=["g * select(y == 0, 0.0, y * np.power(x, y - 1))", "g * np.log(select(x == 0, 1.0, x)) * ans"],
        jvp=["t_x * select(y == 0, 0.0, y * np.power(x, y - 1))", "t_y * np.log(select(x == 0, 1.0, x)) * ans"])
for fn in (builtins.max, builtins.min):
    defrule(fn, "x, y", vjp=["g * balanced_eq(x, ans, y)", "g * balanced_eq(y, ans, x)"],
            jvp=["t_x * balanced_eq(x, ans, y)", "t_y * balanced_eq(y, ans, x)"])
    defrule(fn, "x", vjp=["sum_vjp(g, x, None, False) * chooser_weights(x, ans, None)"],
            jvp=["reduce_sum(t_x * chooser_weights(x, ans, None), None, False)"])
defrule(builtins.sum, "x", vjp=["sum_vjp(g, x, 0, False)"], jvp=["reduce_sum(t_x, 0, False)"])

nondiff(builtins.int, builtins.len, builtins.range, builtins.bool, builtins.round)
