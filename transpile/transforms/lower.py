"""Last rewrite before emission: NumPy calls Numba does not compile become forms that it does.

Numba's np.sum, np.max, ... accept no `keepdims` (np.max and np.mean no `axis` either), so a
reduction with `axis` or `keepdims` becomes `reduce_sum(x, axis, keepdims)`; likewise np.var and
np.std with any option, np.inner, np.squeeze, np.flip with an axis, and np.matmul become runtime
helpers; the arrays joined by np.concatenate/stack/hstack/vstack are passed as a tuple, not a list,
and np.concatenate's axis=None joins them ravelled (`concatenate_ravelled` for a tuple in a variable).
Each helper behaves as the NumPy call in Python and compiles under Numba, so what `show` prints
is what runs on every target.
"""
import copy

import gast
import numpy as np

from .. import gastutil as g
from ..analysis.names import NamePool, all_names, bind_object, resolve

_REDUCERS = {np.sum: "reduce_sum", np.mean: "reduce_mean", np.max: "reduce_max",
             np.amax: "reduce_max", np.min: "reduce_min", np.amin: "reduce_min",
             np.prod: "reduce_prod"}
_MOMENTS = {np.var: "reduce_var", np.std: "reduce_std"}
_JOINS = {np.concatenate, np.stack, np.hstack, np.vstack}


def lower_for_numba(fdef, namespace):
    """A copy of `fdef` (and an extended namespace) with unsupported calls replaced."""
    from .. import runtime
    fdef = copy.deepcopy(fdef)
    namespace = dict(namespace)
    pool = NamePool(all_names(fdef), namespace)

    def call_helper(node, helper, args):
        node.func = g.name(bind_object(namespace, pool, helper, getattr(runtime, helper)))
        node.args = args
        node.keywords = []

    for node in gast.walk(fdef):
        if not isinstance(node, gast.Call):
            continue
        fn = _safe_resolve(node.func, namespace)
        args = _arguments(node)
        if args is None:
            continue
        if fn is np.matmul and len(node.args) == 2 and not node.keywords:
            call_helper(node, "matmul", node.args)  # Numba has the @ operator, not np.matmul
        elif fn in _REDUCERS and _options_given(node) and set(args) <= {"a", "axis", "keepdims"}:
            call_helper(node, _REDUCERS[fn], [args["a"], args.get("axis", g.const(None)),
                                              args.get("keepdims", g.const(False))])
        elif fn in _MOMENTS and len(args) > 1 and set(args) <= {"a", "axis", "ddof", "keepdims"}:
            call_helper(node, _MOMENTS[fn], [args["a"], args.get("axis", g.const(None)),
                                             args.get("ddof", g.const(0)), args.get("keepdims", g.const(False))])
        elif fn is np.inner and len(node.args) == 2 and not node.keywords:
            call_helper(node, "inner", node.args)
        elif fn is np.squeeze and set(args) <= {"a", "axis"}:
            call_helper(node, "squeeze_axes", [args["a"], args.get("axis", g.const(None))])
        elif fn is np.flip and len(args) > 1 and set(args) <= {"a", "axis"}:
            call_helper(node, "flip_axes", [args["a"], args["axis"]])
        elif fn is np.concatenate and node.args and isinstance(node.args[0], gast.Name) and _is_none(args.get("axis")) \
                and set(args) <= {"a", "axis"}:
            call_helper(node, "concatenate_ravelled", [node.args[0]])   # Numba's np.concatenate has no axis=None
        elif fn in _JOINS and node.args and isinstance(node.args[0], (gast.List, gast.Tuple)):
            elts = node.args[0].elts
            if fn is np.concatenate and _is_none(args.get("axis")):   # Numba has no axis=None: join the ravelled arrays
                elts = [g.call(_np_function(namespace, pool, np.ravel), [e]) for e in elts]
                node.keywords = [k for k in node.keywords if k.arg != "axis"]
                node.args = node.args[:1]
            node.args[0] = gast.Tuple(elts=elts, ctx=gast.Load())
    return fdef, namespace


def _is_none(node):
    return isinstance(node, gast.Constant) and node.value is None


def _np_function(namespace, pool, fn):
    return g.name(bind_object(namespace, pool, fn.__name__, fn))


def _arguments(call):
    """The call's arguments by name: the first positional one is `a`, the second `axis`; None
    when the call has more positional arguments than that or keyword splats."""
    if len(call.args) > 2 or any(k.arg is None for k in call.keywords):
        return None
    named = dict(zip(("a", "axis"), call.args))
    for k in call.keywords:
        named[k.arg] = k.value
    return named


def _options_given(call):
    """True unless the call is f(x) or f(x, axis=None): forms of the reductions Numba compiles."""
    options = [k.value for k in call.keywords] + call.args[1:]
    return any(not (isinstance(v, gast.Constant) and v.value is None) for v in options)


def _safe_resolve(func, namespace):
    try:
        return resolve(func, namespace)
    except Exception:  # a name bound to an object whose attribute access fails: not a NumPy function
        return None
