"""vmap's in_axes and out_axes: pytree prefixes expanded to one axis per leaf, checked as JAX does.

`in_axes` is an int, None, or one entry per positional argument, each entry a pytree prefix of the
argument (`{"w": None, "x": 0}` for a dict argument). Generated code sees flattened leaves, so the
axes are expanded to one per leaf parameter; negative axes count from the end of each leaf.
"""
import numbers
from dataclasses import dataclass

import gast

from .. import pytree


@dataclass(frozen=True)
class DictAxes:
    """A dict entry of in_axes/out_axes in hashable form (FunctionSpec options must hash)."""

    items: tuple


def freeze(axes):
    """in_axes/out_axes as given by the user, in hashable form (lists become tuples)."""
    if isinstance(axes, dict):
        return DictAxes(tuple((k, freeze(v)) for k, v in sorted(axes.items())))
    if isinstance(axes, (tuple, list)):
        return tuple(freeze(a) for a in axes)
    if axes is None:
        return None
    if not isinstance(axes, numbers.Integral) or isinstance(axes, bool):
        raise TypeError(f"vmap axes must be ints, None, or tuples/lists/dicts of them; got {axes!r}")
    return int(axes)


def _expand(entry, treedef, where):
    """One axis per leaf of `treedef`, from the prefix `entry`."""
    if entry is None or isinstance(entry, int):
        return [entry] * pytree.num_leaves(treedef)
    kind = treedef[0]
    if isinstance(entry, DictAxes):
        keys = tuple(k for k, _ in entry.items)
        if kind != "dict" or keys != treedef[1]:
            raise ValueError(f"vmap {where} is a dict with keys {list(keys)}, which is not a tree "
                             f"prefix of the argument (a {kind}{_keys_text(treedef)})")
        children = [v for _, v in entry.items]
    else:
        if kind not in ("tuple", "list", "namedtuple") or len(entry) != len(treedef[2]):
            raise ValueError(f"vmap {where} has {len(entry)} entries, which is not a tree prefix of "
                             f"the argument (a {kind}{_keys_text(treedef)})")
        children = entry
    out = []
    for k, (child, sub) in enumerate(zip(children, treedef[2])):
        out += _expand(child, sub, f"{where}[{k}]")
    return out


def _keys_text(treedef):
    if treedef[0] == "leaf":
        return ""
    if treedef[0] == "dict":
        return f" with keys {list(treedef[1])}"
    return f" of {len(treedef[2])} entries"


def treedefs_of(chain):
    """The argument structures of a pytree call (the `flatten` step of the chain), or None.
    A segment's parameters (pmap, segments.py) are leaves already: None."""
    if chain and chain[0][0] == "flatten" and chain[-1][0] != "segment":
        return dict(chain[0][1])["treedefs"]
    return None


def leaf_in_axes(in_axes, nleaves, treedefs):
    """One axis (or None) per leaf parameter, before negative axes are resolved."""
    if in_axes is None or isinstance(in_axes, int):
        axes = [in_axes] * nleaves
    else:
        defs = treedefs or (pytree.LEAF,) * nleaves
        if len(in_axes) != len(defs):
            raise ValueError(f"vmap in_axes must be an int, None, or a tuple with one entry per positional "
                             f"argument, but got len(in_axes)={len(in_axes)} for {len(defs)} arguments")
        axes = []
        for k, (entry, treedef) in enumerate(zip(in_axes, defs)):
            axes += _expand(entry, treedef, f"in_axes[{k}]")
    if all(a is None for a in axes):
        raise ValueError("vmap must have at least one non-None value in in_axes")
    return axes


def resolve_in_axes(axes, params, kinds):
    """Non-negative axes, checked against the ranks of the arguments (when known)."""
    out = []
    for name, axis, kind in zip(params, axes, kinds or [None] * len(params)):
        if axis is None:
            out.append(None)
            continue
        ndim = kind[1] if kind is not None and kind != "pytree" else None
        if ndim is None:
            if axis < 0:
                raise ValueError(f"vmap in_axes={axis} for argument {name!r}: a negative axis needs the "
                                 "argument's rank, which is unknown here; give a non-negative axis")
            out.append(axis)
            continue
        if ndim == 0:
            raise ValueError(f"vmap was requested to map argument {name!r} along axis {axis}, which implies "
                             f"that its rank should be at least 1, but it is a scalar (rank 0)")
        if not -ndim <= axis < ndim:
            raise ValueError(f"vmap in_axes={axis} is out of bounds for argument {name!r} of rank {ndim}")
        out.append(axis % ndim)
    return out


def example_kinds(kinds, in_axes, inner_chain):
    """Kinds of the function being batched: mapped arguments lose one axis."""
    axes = leaf_in_axes(in_axes, len(kinds), treedefs_of(inner_chain))
    out = []
    for kind, axis in zip(kinds, axes):
        if axis is None or kind is None:
            out.append(kind)
        else:
            out.append((kind[0], kind[1] - 1) if kind[1] else None)
    return tuple(out)


def result_structure(fdef):
    """The nesting of tuple displays the function returns: None for one value, else a tuple of
    structures. Followed through names assigned exactly once (core form builds tuples that way)."""
    displays, counts = {}, {}
    for s in gast.walk(fdef):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            name = s.targets[0].id
            counts[name] = counts.get(name, 0) + 1
            displays[name] = s.value
    ret = fdef.body[-1].value

    def structure(atom, depth):
        if depth > 8 or not isinstance(atom, gast.Name) or counts.get(atom.id) != 1:
            return None
        value = displays[atom.id]
        if not isinstance(value, gast.Tuple):
            return None
        return tuple(structure(e, depth + 1) for e in value.elts)

    return structure(ret, 0)


def leaf_paths(structure, prefix=()):
    """Index paths of the leaves of a result structure."""
    if structure is None:
        return [prefix]
    out = []
    for k, sub in enumerate(structure):
        out += leaf_paths(sub, prefix + (k,))
    return out


def leaf_out_axes(out_axes, structure):
    """One output axis (or None) per leaf of the result structure."""
    if out_axes is None or isinstance(out_axes, int):
        return [out_axes] * len(leaf_paths(structure))
    if structure is None or len(out_axes) != len(structure):
        raise ValueError(f"vmap out_axes={out_axes!r} is not a tree prefix of the function's result "
                         f"({'one value' if structure is None else f'a tuple of {len(structure)}'})")
    out = []
    for entry, sub in zip(out_axes, structure):
        out += leaf_out_axes(entry, sub)
    return out
