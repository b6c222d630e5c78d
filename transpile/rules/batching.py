"""Derivative rules of the helpers that vmapped code calls, so grad of a vmapped function works."""
from .. import runtime as rt
from . import defrule

defrule(rt.move_axis, "x, source, destination", vjp=["move_axis(g, destination, source)"],
        jvp=["move_axis(t_x, source, destination)"])
defrule(rt.batch_broadcast, "x, n", vjp=["reduce_sum(g, 0, False)"], jvp=["batch_broadcast(t_x, n)"])
