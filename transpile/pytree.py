"""Nested tuples, lists, dicts and namedtuples of arrays and floats, flattened at the boundary.

A treedef is a hashable description of the structure: generated code is specialised per
treedef and sees only leaves, so `params["w"]` becomes a plain variable.
"""

LEAF = ("leaf",)


def is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields")


def flatten(obj):
    """(leaves, treedef) of `obj`; dict leaves are ordered by sorted key, as in JAX."""
    leaves = []
    treedef = _flatten(obj, leaves)
    return leaves, treedef


def _flatten(obj, leaves):
    if is_namedtuple(obj):
        return ("namedtuple", type(obj), tuple(_flatten(v, leaves) for v in obj))
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, len(obj), tuple(_flatten(v, leaves) for v in obj))
    if isinstance(obj, dict):
        keys = tuple(sorted(obj))
        return ("dict", keys, tuple(_flatten(obj[k], leaves) for k in keys))
    leaves.append(obj)
    return LEAF


def unflatten(treedef, leaves):
    """Rebuild the structure from an iterable of leaves."""
    return _unflatten(treedef, iter(leaves))


def _unflatten(treedef, it):
    kind = treedef[0]
    if kind == "leaf":
        return next(it)
    children = [_unflatten(c, it) for c in treedef[2]]
    if kind == "namedtuple":
        return treedef[1](*children)
    if kind == "tuple":
        return tuple(children)
    if kind == "list":
        return children
    return dict(zip(treedef[1], children))


def num_leaves(treedef):
    if treedef[0] == "leaf":
        return 1
    return sum(num_leaves(c) for c in treedef[2])


def paths(treedef, prefix=()):
    """(path, ...) of each leaf, a path being the keys/indices from the root."""
    if treedef[0] == "leaf":
        return [prefix]
    kind = treedef[0]
    if kind == "dict":
        keys = treedef[1]
    elif kind == "namedtuple":
        keys = tuple(range(len(treedef[2])))
    else:
        keys = tuple(range(treedef[1]))
    out = []
    for key, child in zip(keys, treedef[2]):
        out += paths(child, prefix + (key,))
    return out
