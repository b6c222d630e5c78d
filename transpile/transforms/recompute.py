"""Recompute, instead of taping, the cheap scalar temporaries that reverse mode's backward sweep reads.

A temporary `t = a * b` that the backward sweep reads (the adjoint of `loss = loss + t * x` needs
`t`) would be pushed on a tape in every iteration of its loop and popped back. When `a` and `b`
are themselves available in the backward sweep at each statement that reads `t` — they are
constants of the function, or restored variables that no statement between `t`'s definition
and its last reader assigns — the backward sweep can recompute `t` from them: one multiply
instead of a store and a load, and one tape less (the Euler benchmark's `dt * x`).

The restore discipline of reverse.py makes this exact: while the backward sweep visits a
statement's adjoint, every variable holds the value it had right after that statement ran.
"""
import copy

import gast

_CHEAP = (gast.BinOp, gast.UnaryOp)


def _operands(value):
    """The names a cheap expression of names and constants reads, or None if it is not one."""
    if isinstance(value, gast.BinOp):
        parts = [value.left, value.right]
    elif isinstance(value, gast.UnaryOp) and not isinstance(value.op, gast.Not):
        parts = [value.operand]
    else:
        return None
    if not all(isinstance(p, (gast.Name, gast.Constant)) for p in parts):
        return None
    return [p.id for p in parts if isinstance(p, gast.Name)]


def _stores(node):
    """Names a statement assigns, in-place writes (`x[i] = v`) included."""
    out = set()
    for n in gast.walk(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
            out.add(n.id)
        elif isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and isinstance(n.value, gast.Name):
            out.add(n.value.id)
    return out


def _reads(node, name):
    return sum(1 for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
               and n.id == name)


def _blocks(stmts):
    yield stmts
    for s in stmts:
        for field in ("body", "orelse"):
            inner = getattr(s, field, None)
            if inner:
                yield from _blocks(inner)


def _candidates(rev, body, needed):
    """(temporary, defining statement, statements whose adjoints read it) for each recomputable one."""
    module = gast.Module(body=body, type_ignores=[])
    store_counts, read_counts = {}, {}
    for n in gast.walk(module):
        if isinstance(n, gast.Name):
            table = store_counts if isinstance(n.ctx, gast.Store) else read_counts
            table[n.id] = table.get(n.id, 0) + 1
    params = {a.id for a in rev.fdef.args.args}
    chosen = []
    taken = set()
    for block in _blocks(body):
        for i, s in enumerate(block):
            if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and isinstance(s.value, _CHEAP)):
                continue
            t = s.targets[0].id
            ops = _operands(s.value)
            if ops is None or t not in needed or t in params or store_counts.get(t) != 1 \
                    or rev.kinds.get(t) not in (("f", 0), ("i", 0)):
                continue
            if any(rev.kinds.get(op) not in (("f", 0), ("i", 0)) or op in taken
                   or not (op in needed or rev.assign_counts.get(op, 0) <= 1) for op in ops):
                continue
            readers = [r for r in block[i + 1:] if _reads(r, t)]
            if not readers or sum(_reads(r, t) for r in readers) != read_counts.get(t, 0):
                continue
            last = block.index(readers[-1])
            if any(set(ops) & _stores(r) for r in block[i + 1:last + 1]):
                continue
            chosen.append((t, s, [s] + readers))
            taken.add(t)
    return chosen


def _containing_block(stmts, node):
    """The statement list of `stmts` (nested blocks included) that holds `node`, or None."""
    return next((block for block in _blocks(stmts) if any(s is node for s in block)), None)


def recompute_cheap_values(rev, body, backward, needed):
    """Insert recomputations of the chosen temporaries into `backward` (in place); returns the
    names that need no tape any more."""
    recomputed = set()
    for t, definition, statements in _candidates(rev, body, needed):
        groups = [rev.emitted.get(id(s)) for s in statements]
        groups = [grp for grp in groups if grp and any(_reads(st, t) for st in grp)]
        covered = sum(_reads(st, t) for grp in groups for st in grp)
        if not groups or covered != sum(_reads(st, t) for st in backward):
            continue
        places = [(_containing_block(backward, grp[0]), grp[0]) for grp in groups]
        if any(block is None for block, _ in places):
            continue
        for block, first in places:
            position = next(k for k, st in enumerate(block) if st is first)
            block.insert(position, copy.deepcopy(definition))
        recomputed.add(t)
    return recomputed
