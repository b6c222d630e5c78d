"""The arguments of tp.jvp: primals and tangents must pair up leaf by leaf, as in JAX."""
import inspect

import numpy as np

from . import pytree
from .ir import stand_in


def _leaf_type(leaf):
    return np.shape(leaf), np.result_type(leaf)


def is_float_tree(tree):
    """Whether every leaf is floating point: only those arguments get a tangent."""
    return all(np.issubdtype(np.result_type(leaf), np.inexact) for leaf in pytree.flatten(tree)[0])


def check(primals, tangents):
    """(primals, tangents) as tuples, after a TypeError for anything that does not match."""
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, (tuple, list)):
            raise TypeError(f"jvp: {name} must be a tuple or list of arguments, got {type(value).__name__}")
    if len(primals) != len(tangents):
        raise TypeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal")
    for k, (p, t) in enumerate(zip(primals, tangents)):
        p_leaves, p_tree = pytree.flatten(p)
        t_leaves, t_tree = pytree.flatten(t)
        if p_tree != t_tree:
            raise TypeError(f"jvp: tangent {k} does not have the structure of primal {k}")
        for p_leaf, t_leaf in zip(p_leaves, t_leaves):
            (p_shape, p_dtype), (t_shape, t_dtype) = _leaf_type(p_leaf), _leaf_type(t_leaf)
            if p_shape != t_shape:
                raise TypeError(f"jvp: tangent {k} has shape {t_shape} but its primal has shape {p_shape}")
            if p_dtype != t_dtype:
                raise TypeError(f"jvp: tangent {k} has dtype {t_dtype} but its primal has dtype {p_dtype}; "
                                "tangents must have the dtype of their primals")
    return tuple(primals), tuple(tangents)


def parameter_names(fun, nprimals, argnums):
    """A stand-in callable whose signature is the generated jvp's: the primals, then `t_<name>`
    for each differentiated one (used to bind calls and name arguments in errors)."""
    try:
        names = list(inspect.signature(fun).parameters)[:nprimals]
    except (TypeError, ValueError):
        names = []
    names += [f"arg{k}" for k in range(len(names), nprimals)]
    return stand_in("jvp_arguments", names + [f"t_{names[k]}" for k in argnums], "inside tp.jvp")
