"""Last rewrite before emission: NumPy calls Numba does not compile become runtime twins.

Numba's np.sum, np.max, ... accept no `keepdims` (np.max and np.mean no `axis` either), so a
reduction with `axis` or `keepdims` becomes `reduce_sum(x, axis, keepdims)`, which behaves the
same in Python and compiles under Numba.
"""
import copy

import gast
import numpy as np

from .. import gastutil as g
from ..analysis.names import NamePool, all_names, bind_object, resolve

_REDUCERS = {np.sum: "reduce_sum", np.mean: "reduce_mean", np.max: "reduce_max",
             np.amax: "reduce_max", np.min: "reduce_min", np.amin: "reduce_min",
             np.prod: "reduce_prod"}


def lower_for_numba(fdef, namespace):
    """A copy of `fdef` (and an extended namespace) with unsupported calls replaced."""
    from .. import runtime
    fdef = copy.deepcopy(fdef)
    namespace = dict(namespace)
    pool = NamePool(all_names(fdef), namespace)
    for node in gast.walk(fdef):
        if not isinstance(node, gast.Call):
            continue
        fn = _safe_resolve(node.func, namespace)
        if fn is np.matmul and len(node.args) == 2 and not node.keywords:
            # Numba has the @ operator, not np.matmul
            node.func = g.name(bind_object(namespace, pool, "matmul", runtime.matmul))
            continue
        helper = _REDUCERS.get(fn)
        if helper is None:
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        axis = node.args[1] if len(node.args) > 1 else keywords.get("axis", g.const(None))
        keepdims = keywords.get("keepdims", g.const(False))
        if len(node.args) == 1 and set(keywords) <= {"axis"} and \
                isinstance(axis, gast.Constant) and axis.value is None:
            continue
        if set(keywords) - {"axis", "keepdims"} or len(node.args) > 2:
            continue
        node.func = g.name(bind_object(namespace, pool, helper, getattr(runtime, helper)))
        node.args = [node.args[0], axis, keepdims]
        node.keywords = []
    return fdef, namespace


def _safe_resolve(func, namespace):
    try:
        return resolve(func, namespace)
    except Exception:  # a name bound to an object whose attribute access fails: not a reducer
        return None
