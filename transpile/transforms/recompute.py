"""Recompute, instead of taping, the cheap temporaries that reverse mode's backward sweep reads.

A temporary `t = a * b` that the backward sweep reads (the adjoint of `loss = loss + t * x` needs
`t`) would be pushed on a tape in every iteration of its loop and popped back. When `a` and `b`
are themselves available in the backward sweep at each statement that reads `t` — they are
constants of the function, or restored variables that no statement between `t`'s definition
and its last reader assigns — the backward sweep can recompute `t` from them: one multiply
instead of a store and a load, and one tape less (the Euler benchmark's `dt * x`). A row or
element of a parameter (`w = params[2 * layer]`) is recomputed likewise: parameters are never
written in place, so indexing again gives the same view, and no list of views is kept.

The restore discipline of reverse.py makes this exact: while the backward sweep visits a
statement's adjoint, every variable holds the value it had right after that statement ran.
"""
import copy

import gast

from ..analysis.activity import blocks

_CHEAP = (gast.BinOp, gast.UnaryOp, gast.Subscript)


def _operands(value):
    """The names a cheap expression of names and constants reads, or None if it is not one."""
    if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        index = _index_names(value.slice)
        return None if index is None else [value.value.id] + index
    if isinstance(value, gast.BinOp):
        parts = [value.left, value.right]
    elif isinstance(value, gast.UnaryOp) and not isinstance(value.op, gast.Not):
        parts = [value.operand]
    else:
        return None
    if not all(isinstance(p, (gast.Name, gast.Constant)) for p in parts):
        return None
    return [p.id for p in parts if isinstance(p, gast.Name)]


def _index_names(index):
    """The names a basic index (integers, slices of them, tuples) reads; None for any other index."""
    if isinstance(index, gast.Tuple):
        parts = [_index_names(e) for e in index.elts]
        return None if None in parts else [n for p in parts for n in p]
    if isinstance(index, gast.Slice):
        return _index_names(gast.Tuple(elts=[b for b in (index.lower, index.upper, index.step) if b is not None],
                                       ctx=gast.Load()))
    if isinstance(index, gast.Name):
        return [index.id]
    return [] if isinstance(index, gast.Constant) and isinstance(index.value, int) else None


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


def _candidates(rev, body, needed):
    """(temporary, defining statement, statements whose adjoints read it) for each recomputable one."""
    module = gast.Module(body=body, type_ignores=[])
    store_counts, read_counts = {}, {}
    for n in gast.walk(module):
        if isinstance(n, gast.Name):
            table = store_counts if isinstance(n.ctx, gast.Store) else read_counts
            table[n.id] = table.get(n.id, 0) + 1
    params = {a.id for a in rev.fdef.args.args}
    # the backward loop binds a loop's index again at the top of each iteration
    indices = {n.target.id for n in gast.walk(module) if isinstance(n, gast.For) and store_counts.get(n.target.id) == 1}
    chosen = []
    taken, read_by_chosen = set(), set()
    # views first: each saves a list of arrays, where a scalar saves a typed stack
    statements = [(block, i, s) for block in blocks(body) for i, s in enumerate(block)]
    statements.sort(key=lambda item: not isinstance(item[2], gast.Assign) or not isinstance(item[2].value, gast.Subscript))
    for block, i, s in statements:
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and isinstance(s.value, _CHEAP)):
            continue
        t = s.targets[0].id
        ops = _operands(s.value)
        viewed = isinstance(s.value, gast.Subscript)   # a parameter's element or view
        if ops is None or t not in needed or t in params or t in read_by_chosen or store_counts.get(t) != 1 \
                or not (viewed or rev.kinds.get(t) in (("f", 0), ("i", 0))):
            continue
        if viewed and not (ops[0] in params and rev.assign_counts.get(ops[0], 0) <= 1):
            continue   # parameters are never written in place (the fence refuses it)
        if any(rev.kinds.get(op) not in (("f", 0), ("i", 0)) or op in taken
               or not (op in needed or op in indices or rev.assign_counts.get(op, 0) <= 1) for op in ops[viewed:]):
            continue
        readers = [r for r in block[i + 1:] if _reads(r, t)]
        if not readers or sum(_reads(r, t) for r in readers) != read_counts.get(t, 0):
            continue
        last = block.index(readers[-1])
        if any(set(ops) & _stores(r) for r in block[i + 1:last + 1]):
            continue
        chosen.append((t, s, [s] + readers))
        taken.add(t)
        read_by_chosen.update(ops)
    return chosen


def _containing_block(stmts, node):
    """The statement list of `stmts` (nested blocks included) that holds `node`, or None."""
    return next((block for block in blocks(stmts) if any(s is node for s in block)), None)


def recompute_cheap_values(rev, body, backward, needed):
    """Insert recomputations of the chosen temporaries into `backward` (in place); returns the
    names that need no tape any more."""
    recomputed = set()
    # `t = tape_restore(tape, t)` reads t to restore it, an adjoint's initialisation only for its
    # shape, before the backward sweep restores anything: neither needs t recomputed
    not_readers = {id(s) for s, _ in rev.restores} | rev.init_nodes
    for t, definition, statements in _candidates(rev, body, needed):
        groups = [rev.emitted.get(id(s)) for s in statements]
        groups = [grp for grp in groups if grp and any(_reads(st, t) for st in grp if id(st) not in not_readers)]
        covered = sum(_reads(st, t) for grp in groups for st in grp if id(st) not in not_readers)
        restoring = sum(_reads(st, t) for st in gast.walk(gast.Module(body=backward, type_ignores=[]))
                        if id(st) in not_readers)
        if not groups or covered != sum(_reads(st, t) for st in backward) - restoring:
            continue
        places = [(_containing_block(backward, grp[0]), grp[0]) for grp in groups]
        if any(block is None for block, _ in places):
            continue
        for block, first in places:
            position = next(k for k, st in enumerate(block) if st is first)
            block.insert(position, copy.deepcopy(definition))
        recomputed.add(t)
    return recomputed
