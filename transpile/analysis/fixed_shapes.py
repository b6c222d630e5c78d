"""Names whose every value has one shape, so that a later value's shape is the earlier one's.

Reverse mode reads some values only for their shape (`unbroadcast(ct, x)`, `zero_like(x)`) and does
not restore a name read only that way when the name is overwritten: the shape read is that of a
later value. That is exact only if all the name's values have one shape; otherwise a stale shape can
even broadcast silently (a cotangent summed into length 1).

Each array value here is described by its leaves: the operands of one shape (names assigned once,
their rows `W[i]`, slices with bounds that never change) that elementwise arithmetic and ufuncs
broadcast together, so the value's shape is the broadcast of its leaves' shapes. Leaves of a name
assigned several times are the union over its assignments, to a fixed point (a loop's `h = tanh(h)
* x` reads its own earlier value). When every assignment of a name has exactly the name's leaves,
every value it takes has one shape, the broadcast of those leaves, by induction over the run. A
call, a boolean mask, a slice bound that changes or a reassigned parameter makes a value opaque.
"""
import gast
import numpy as np

from .activity import assignments
from .names import resolve

OPAQUE = None  # leaves of a value whose shape is not known to stay the same


def fixed_shapes(body, namespace, kinds, assign_counts, params):
    """The names assigned more than once in `body` whose values all have one shape."""
    values = {}
    for stmt in assignments(body):
        if isinstance(stmt.targets[0], gast.Name):
            values.setdefault(stmt.targets[0].id, []).append(stmt.value)
    repeated = {name for name in values if assign_counts.get(name, 0) > 1}
    leaves = {name: frozenset() for name in repeated if name not in params}

    def is_scalar(name):
        kind = kinds.get(name)
        return kind is not None and kind[1] == 0

    def once(node):
        """Is `node` a constant or a name that holds one value (a loop's index holds many)?"""
        return isinstance(node, gast.Constant) or isinstance(node, gast.Name) and assign_counts.get(node.id, 0) <= 1

    def of(node):
        if isinstance(node, gast.Constant):
            return frozenset()
        if isinstance(node, gast.Name):
            if is_scalar(node.id):
                return frozenset()
            if once(node):
                return frozenset([node.id])
            return leaves.get(node.id, OPAQUE)
        if isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp)) or \
                isinstance(node, gast.Call) and isinstance(resolve(node.func, namespace), np.ufunc) and not node.keywords:
            parts = [node.left, node.right] if isinstance(node, gast.BinOp) else \
                [node.operand] if isinstance(node, gast.UnaryOp) else \
                [node.left, *node.comparators] if isinstance(node, gast.Compare) else \
                node.values if isinstance(node, gast.BoolOp) else node.args
            found = frozenset()
            for part in parts:
                inner = of(part)
                if inner is OPAQUE:
                    return OPAQUE
                found |= inner
            return found
        if isinstance(node, gast.Subscript) and once(node.value) and _fixed_index(node.slice, once, kinds):
            return frozenset([gast.dump(node)])
        return OPAQUE

    changed = True
    while changed:
        changed = False
        for name in list(leaves):
            found = leaves[name]
            for value in values[name]:
                inner = of(value)
                found = OPAQUE if inner is OPAQUE or found is OPAQUE else found | inner
            if found != leaves[name]:
                leaves[name] = found
                changed = True
            if found is OPAQUE:
                del leaves[name]
    scalars = {name for name in repeated if is_scalar(name)}
    return scalars | {name for name, found in leaves.items() if all(of(value) == found for value in values[name])}


def _fixed_index(index, once, kinds):
    """Does indexing with `index` give the same shape whatever values its names hold?"""
    if isinstance(index, gast.Tuple):
        return all(_fixed_index(elt, once, kinds) for elt in index.elts)
    if isinstance(index, gast.Slice):
        return all(part is None or once(part) for part in (index.lower, index.upper, index.step))
    if isinstance(index, gast.Constant):
        return isinstance(index.value, int) and not isinstance(index.value, bool)
    return isinstance(index, gast.Name) and kinds.get(index.id) == ("i", 0)
