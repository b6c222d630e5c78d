"""Derivative rules of the collectives (transpile/collectives.py), as in JAX: the transpose of a
psum is a psum of the cotangents (every example's output depends on every example's input), pmean
likewise, and all_gather and psum_scatter are each other's transposes. pmax and pmin have no rule,
as in JAX."""
from .. import collectives as c
from . import defrule, nondiff

defrule(c.psum, "x, axis_name", vjp=["psum(g, axis_name)"], jvp=["psum(t_x, axis_name)"])
defrule(c.pmean, "x, axis_name", vjp=["pmean(g, axis_name)"], jvp=["pmean(t_x, axis_name)"])
defrule(c.all_gather, "x, axis_name", vjp=["psum_scatter(g, axis_name)"], jvp=["all_gather(t_x, axis_name)"])
defrule(c.psum_scatter, "x, axis_name", vjp=["all_gather(g, axis_name)"], jvp=["psum_scatter(t_x, axis_name)"])
nondiff(c.axis_index)
