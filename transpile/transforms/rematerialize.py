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
from .templates import substitute

MAX_OPERATIONS = 12
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
            if _operations(expanded) <= MAX_OPERATIONS:   # in terms of names that are not recomputed
                recipes[target] = (expanded, boundaries)
            elif _operations(value) <= MAX_OPERATIONS:
                recipes[target] = (value, boundaries)
        out.append(stmt)
    return out


def _store_counts(body, params, namespace):
    """How often each name is bound anywhere in `body`; a name written in place (`a[i] = v`,
    `a += v`) or passed to a function that is not NumPy's, math's or ours counts as bound twice."""
    counts = dict.fromkeys(params, 0)
    many = 2
    may_alias = {}   # name -> the names its value may share memory with (a view, a reshape, a call)
    for node in gast.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) \
                and not _fresh(node.value, namespace):
            may_alias.setdefault(node.targets[0].id, set()).update(_reads(node.value))
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, (gast.Subscript, gast.Attribute)):
                base = base.value
            if isinstance(base, gast.Name):
                counts[base.id] = many
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            counts[node.target.id] = many
        elif isinstance(node, gast.Call) and not _library_function(resolve(node.func, namespace)):
            for arg in node.args:
                if isinstance(arg, gast.Name):
                    counts[arg.id] = many
    changed = True
    while changed:   # a view of an array written in place changes with it
        changed = False
        for name, sources in may_alias.items():
            if counts.get(name, 0) < many and any(counts.get(s, 0) >= many for s in sources):
                counts[name] = many
                changed = True
    return counts


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


def _operations(node):
    return sum(isinstance(n, (gast.BinOp, gast.UnaryOp, gast.Call, gast.Compare)) for n in gast.walk(node))
