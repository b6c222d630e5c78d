"""Before fusion: a sum written back into the slice it was read from is added in place.

Reverse mode writes the adjoint of a read of a slice `x[s]` as `part = dx[s]; total = part + c;
dx[s] = total`: under Numba that allocates `total` and copies it back, for every read of every
slice (the LSTM's gates, a state row per layer). When `part` and `total` are read nowhere else,
the three statements become `part = dx[s]; add_into(part, c)` (runtime/accumulate.py), which adds
element by element into the slice and keeps NumPy's result where the operands overlap.
"""
import gast

from .. import gastutil as g
from ..analysis.names import bind_object


def accumulate_in_place(block, fuser, pool):
    """`block` with its read-add-write-back triples (nested blocks too) adding in place."""
    from .. import runtime
    out = []
    k = 0
    while k < len(block):
        stmt = block[k]
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if inner and isinstance(inner[0], gast.stmt):
                setattr(stmt, field, accumulate_in_place(inner, fuser, pool))
        addend = _added_back(block[k:k + 3], fuser)
        if addend is None:
            out.append(stmt)
            k += 1
            continue
        add_into = bind_object(fuser.ns, pool, "add_into", runtime.add_into)
        part = stmt.targets[0].id
        out += [stmt, gast.copy_location(g.expr_stmt(g.call(g.name(add_into), [g.name(part), addend])), block[k + 1])]
        k += 3
    return out


def _added_back(stmts, fuser):
    """The addend `c` when `stmts` are `part = d[s]; total = part + c; d[s] = total` with `part`
    a float array and `part`, `total` read nowhere else; None otherwise."""
    if len(stmts) < 3 or not all(isinstance(s, gast.Assign) and len(s.targets) == 1 for s in stmts):
        return None
    read, add, write = stmts
    if not (isinstance(read.targets[0], gast.Name) and isinstance(read.value, gast.Subscript)
            and isinstance(read.value.value, gast.Name)):
        return None
    part = read.targets[0].id
    if not (fuser.rank(read.targets[0]) and fuser.letter(part) == "f" and fuser.rank(read.value.value)
            and _basic_index(read.value.slice, fuser)):   # a view of an array, not a copy
        return None
    value = add.value
    if not (isinstance(add.targets[0], gast.Name) and isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add)):
        return None
    total = add.targets[0].id
    sides = [value.left, value.right]
    if not any(isinstance(side, gast.Name) and side.id == part for side in sides):
        return None
    addend = sides[1] if isinstance(sides[0], gast.Name) and sides[0].id == part else sides[0]
    if not isinstance(addend, (gast.Name, gast.Constant)):
        return None
    target = write.targets[0]
    if not (isinstance(target, gast.Subscript) and isinstance(write.value, gast.Name) and write.value.id == total
            and _same(target.value, read.value.value) and _same(target.slice, read.value.slice)):
        return None
    if fuser.reads.get(part, 0) != 1 or fuser.reads.get(total, 0) != 1:
        return None
    return addend


def _basic_index(index, fuser):
    """Slices and integer scalars only: indexing that gives a view."""
    if isinstance(index, gast.Tuple):
        return all(_basic_index(e, fuser) for e in index.elts)
    if isinstance(index, gast.Slice):
        return all(bound is None or _basic_index(bound, fuser) for bound in (index.lower, index.upper, index.step))
    if isinstance(index, gast.Constant):
        return isinstance(index.value, int) and not isinstance(index.value, bool)
    return isinstance(index, gast.Name) and fuser.rank(index) == 0 and fuser.letter(index.id) == "i"


def _same(a, b):
    return gast.dump(a) == gast.dump(b)
