"""Reverse-mode tapes inside a GPU thread: per-thread local arrays when their size is constant.

A tape is pushed once per execution of each push site; when every loop around a push site has a
constant trip count (`range(16)`), the pushes are bounded at generation time and the tape becomes
`cuda.local.array(SIZE, numba.float64)`, with no growth (`tape_reserve`) and no sizing code left.
Otherwise the loop that needs a growable tape is returned, to be named in the error.
"""
import gast
import numba

from .. import gastutil as g
from .. import runtime
from ..analysis.names import NamePool, all_names, bind_object, resolve
from .simplify import drop_statements, eliminate_dead_code
from .tape import constant_trip_count, push_counts

_DTYPES = {bool: "boolean", int: "int64", float: "float64"}


def localize_tapes(fdef, namespace):
    """Rewrite `fdef` (in place) so that its tapes are local arrays; returns the loop that needs a
    growable tape, or None when every tape has a constant size."""
    creations = {}
    for node in gast.walk(fdef):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Call) \
                and resolve(node.value.func, namespace) is runtime.new_tape:
            creations[node.targets[0].id] = node
    if not creations:
        return None
    counts, unbounded = push_counts(fdef.body, creations, constant_trip_count)
    if unbounded is not None:
        return unbounded
    from numba import cuda
    pool = NamePool(all_names(fdef), namespace)
    cuda_name = bind_object(namespace, pool, "cuda", cuda)
    numba_name = bind_object(namespace, pool, "numba", numba)
    for tape, node in creations.items():
        sample = node.value.args[0]
        dtype = _DTYPES[type(sample.value)] if isinstance(sample, gast.Constant) else "float64"
        node.value = g.call(f"{cuda_name}.local.array",
                            [g.const(max(1, counts[tape])), g.dotted_name(f"{numba_name}.{dtype}")])
    reserve = {name for name, obj in namespace.items() if obj is runtime.tape_reserve}

    drop_statements(fdef, lambda stmt: isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)
                    and isinstance(stmt.value.func, gast.Name) and stmt.value.func.id in reserve)
    eliminate_dead_code(fdef)
    return None
