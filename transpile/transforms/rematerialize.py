"""Before fusion: recompute cheap elementwise arrays where they are read again, instead of keeping them.

A gradient reads the forward pass's temporaries (`x - m`, `exp(...)`) in its backward chain. Fused
separately, the forward loop must write each such array to memory and the backward loop read it
back: two extra sweeps over memory and an allocation per temporary. When the temporary is an
elementwise expression of arrays and scalars that never change (parameters and names assigned
once), a later elementwise statement can compute it again from those instead; the fused forward
loop then keeps it in a register and nothing is stored. XLA's fusion makes the same trade.

Only straight-line statements of the function's top level are considered, expressions stay
small (`MAX_OPERATIONS`), the reading statement must itself be elementwise (so the recomputation
lands inside a fused loop), and it must lie past a group boundary from the definition (a
statement no fused group takes), where the two would otherwise be separate loops.
"""
import builtins

import gast
import numpy as np

from ..analysis.names import resolve
from ..runtime import SHAPE_ONLY_ARGS, add_into
from .templates import substitute

MAX_OPERATIONS = 12
_METADATA = ("shape", "ndim", "size", "dtype")
_FRESH_VALUES = (gast.BinOp, gast.UnaryOp, gast.Compare, gast.Constant)   # values that are new arrays


def rematerialize(body, fuser, params):
    """`body` with reads of recomputable arrays in later elementwise statements replaced by their
    expressions; `fuser` answers rank and elementwise questions (transforms/fuse.py)."""
    stores = _store_counts(body, params, fuser.ns)

    def stable(name):
        return stores.get(name, 0) <= (0 if name in params else 1)

    recipes = {}   # name -> (its expression over stable names, boundaries passed before it)
    boundaries = 0
    out = []
    for stmt in body:
        simple = isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name)
        if not (simple and fuser.rank(stmt.targets[0]) and fuser.elementwise(stmt.value, "f")):
            if not (simple and (fuser.hoistable(stmt) or fuser.member(stmt, None) is not None)):
                boundaries += 1
            out.append(stmt)
            continue
        target, value = stmt.targets[0].id, stmt.value
        far = {name for name in _reads(value) & recipes.keys() if recipes[name][1] < boundaries
               and (fuser.rank(stmt.targets[0]) == 1 or not _calls(recipes[name][0]))}
        if far:
            value = substitute(value, {name: recipes[name][0] for name in far})
            stmt = gast.copy_location(gast.Assign(targets=stmt.targets, value=value, type_comment=None), stmt)
        if stable(target) and all(stable(name) for name in _reads(value)) and fuser.letter(target) == "f":
            expanded = substitute(value, {name: recipe for name, (recipe, _) in recipes.items()})
            if operations(expanded) <= MAX_OPERATIONS:   # in terms of names that are not recomputed
                recipes[target] = (expanded, boundaries)
            elif operations(value) <= MAX_OPERATIONS:
                recipes[target] = (value, boundaries)
        out.append(stmt)
    return out


def _store_counts(body, params, namespace):
    """How often each name is bound anywhere in `body`; a name written in place (`a[i] = v`,
    `a += v`), passed to a function that is not NumPy's, math's or ours, or bound to a view of
    such an array counts as bound twice."""
    counts = dict.fromkeys(params, 0)
    written = set()    # names whose memory changes in place
    may_alias = {}     # name -> the names its value may share memory with (a view, a reshape, a call)
    for node in gast.walk(gast.Module(body=body, type_ignores=[])):
        bound = (node.targets[0], node.value) if isinstance(node, gast.Assign) else \
            (node.target, node.iter) if isinstance(node, gast.For) else None
        if bound and not _fresh(bound[1], namespace):
            for name in gast.walk(bound[0]):
                if isinstance(name, gast.Name):
                    may_alias.setdefault(name.id, set()).update(_alias_sources(bound[1], namespace))
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                written.add(base.id)
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            written.add(node.target.id)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and node.func.attr == "append" \
                and isinstance(node.func.value, gast.Name):   # a tape holds what it is given
            may_alias.setdefault(node.func.value.id, set()).update(_alias_sources(node, namespace))
        elif isinstance(node, gast.Call) and resolve(node.func, namespace) is add_into:
            written.update(_alias_sources(node.args[0], namespace))
        elif isinstance(node, gast.Call) and not _library_function(resolve(node.func, namespace)):
            written.update(arg.id for arg in node.args if isinstance(arg, gast.Name))
    changed = True
    while changed:   # an array and its views change together
        changed = False
        for name, sources in may_alias.items():
            if name in written and not sources <= written:
                written |= sources
                changed = True
            elif name not in written and sources & written:
                written.add(name)
                changed = True
    for name in written:
        counts[name] = 2
    return counts


def _alias_sources(value, namespace):
    """The names whose memory `value` may share: a subscript's or attribute's base (not its
    index, not `.shape`), a call's arguments (not those our helpers read only for their shape),
    a tuple's elements."""
    if isinstance(value, gast.Name):
        return {value.id}
    if isinstance(value, gast.Subscript):
        return _alias_sources(value.value, namespace)
    if isinstance(value, gast.Attribute):
        return set() if value.attr in _METADATA else _alias_sources(value.value, namespace)
    if isinstance(value, gast.Call):
        shape_only = SHAPE_ONLY_ARGS.get(resolve(value.func, namespace), ())
        sources = _alias_sources(value.func.value, namespace) if isinstance(value.func, gast.Attribute) else set()
        return sources.union(*(_alias_sources(a, namespace) for k, a in enumerate(value.args) if k not in shape_only))
    if isinstance(value, gast.Tuple):
        return set().union(*(_alias_sources(e, namespace) for e in value.elts))
    return set()


def _fresh(value, namespace):
    """Is `value` a new array, sharing memory with no operand (arithmetic, a ufunc's result)?"""
    return isinstance(value, _FRESH_VALUES) or (
        isinstance(value, gast.Call) and isinstance(resolve(value.func, namespace), np.ufunc))


def _library_function(fn):
    module = getattr(fn, "__module__", None) or getattr(type(fn), "__module__", "")
    return fn is not None and (module.startswith(("numpy", "math", "transpile.runtime"))
                               or fn is getattr(builtins, getattr(fn, "__name__", ""), None))


def _reads(node):
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}


def _calls(node):
    return any(isinstance(n, gast.Call) for n in gast.walk(node))


def operations(node):
    """The array operations an expression performs (each BinOp, UnaryOp, Call and Compare)."""
    return sum(isinstance(n, (gast.BinOp, gast.UnaryOp, gast.Call, gast.Compare)) for n in gast.walk(node))
