"""Small straight-line helpers are inlined into their caller before fusion.

Fusion stops at a call: Black-Scholes' vmapped `norm_cdf` made the priced chain six loops, each
writing an array of the batch's size for the next to read. With the helper's statements in the
caller, the chain through it fuses like any other. Only top-level calls `t = helper(a, b)` of a
helper from the same file whose body is assignments and one return are inlined; a returned tuple
is taken apart where the caller only indexes it (`x = t[0]`).
"""
import copy

import gast

from .. import gastutil as g
from ..analysis.names import NamePool, Renamer, all_names

MAX_STATEMENTS = 40  # larger helpers stay calls: compile time grows with the fused function


def inline_helpers(fdef, namespace, filename, helper_ir):
    """(fdef, namespace) with inlinable helper calls replaced by the helpers' statements;
    `helper_ir(name)` is the IR of the helper bound to `name` in `namespace`, or None."""
    pool = NamePool(all_names(fdef), namespace)
    namespace = dict(namespace)
    body, parts_of, inlined = [], {}, False   # parts_of: a caller name holding an inlined tuple -> its elements
    for stmt in fdef.body:
        call = _helper_call(stmt, namespace)
        ir = helper_ir(call.func.id) if call is not None else None
        target = stmt.targets[0].id if call is not None else None
        if ir is not None and ir.filename == filename and len(call.args) == len(ir.fdef.args.args) \
                and _straight_line(ir.fdef) \
                and (_returned_tuple(ir.fdef) is None or _only_indexed(fdef, target, stmt)):
            statements, result = _instantiate(ir, call.args, pool, namespace, stmt)
            body += statements
            inlined = True
            if isinstance(result, list):
                parts_of[target] = result
            else:
                body.append(g.assign(target, result, stmt))
            continue
        body.append(_take_part(stmt, parts_of))
    if not inlined:
        return fdef, namespace
    out = copy.copy(fdef)
    out.body = body
    return out, namespace


def _helper_call(stmt, namespace):
    from ..assemble import callee_spec
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], gast.Name) \
            and isinstance(stmt.value, gast.Call) and isinstance(stmt.value.func, gast.Name) \
            and not stmt.value.keywords and callee_spec(namespace.get(stmt.value.func.id)) is not None \
            and all(isinstance(a, (gast.Name, gast.Constant)) for a in stmt.value.args):
        return stmt.value
    return None


def _straight_line(fdef):
    *assignments, last = fdef.body
    returned = last.value if isinstance(last, gast.Return) else None
    return len(fdef.body) <= MAX_STATEMENTS and returned is not None \
        and all(isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name)
                for s in assignments) \
        and (isinstance(returned, gast.Name) or isinstance(returned, gast.Tuple)
             and all(isinstance(e, gast.Name) for e in returned.elts))


def _returned_tuple(fdef):
    """The statement building the tuple a helper returns (`return (a, b)`, or `r = a, b; return r`
    with `r` read nowhere else), or None when it returns a single value."""
    returned = fdef.body[-1].value
    if isinstance(returned, gast.Tuple):
        return fdef.body[-1]
    built = [s for s in fdef.body[:-1] if s.targets[0].id == returned.id]
    reads = [n for n in gast.walk(fdef) if isinstance(n, gast.Name) and n.id == returned.id and isinstance(n.ctx, gast.Load)]
    if len(built) == 1 and isinstance(built[0].value, gast.Tuple) and len(reads) == 1 \
            and all(isinstance(e, gast.Name) for e in built[0].value.elts):
        return built[0]
    return None


def _only_indexed(fdef, name, call_stmt):
    """Whether every read of `name`, a returned tuple, is a top-level `x = name[k]` with a constant k
    and `name` is assigned only by this call."""
    reads = [n for n in gast.walk(fdef) if isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Load)]
    writes = [n for n in gast.walk(fdef) if isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Store)]
    indexed = [s for s in fdef.body if s is not call_stmt and isinstance(s, gast.Assign)
               and isinstance(s.value, gast.Subscript) and isinstance(s.value.value, gast.Name)
               and s.value.value.id == name and isinstance(s.value.slice, gast.Constant)
               and isinstance(s.value.slice.value, int)]
    return len(writes) == 1 and len(reads) == len(indexed)


def _instantiate(ir, args, pool, namespace, call_stmt):
    """The helper's statements with its names made fresh in the caller; and what it returns: a
    name node, or the list of element names of a returned tuple."""
    renames = {}
    for param in ir.fdef.args.args:
        renames[param.id] = pool.fresh(param.id)
    for s in ir.fdef.body[:-1]:
        if s.targets[0].id not in renames:
            renames[s.targets[0].id] = pool.fresh(s.targets[0].id)
    for free in all_names(ir.fdef) - set(renames):
        if free not in ir.namespace:
            continue
        value = ir.namespace[free]
        if free in namespace and namespace[free] is value:
            continue
        name = free if free not in pool.taken else pool.fresh(free)
        pool.taken.add(name)
        namespace[name] = value
        if name != free:
            renames[free] = name
    statements = [g.assign(renames[p.id], copy.deepcopy(a), call_stmt) for p, a in zip(ir.fdef.args.args, args)]
    built = _returned_tuple(ir.fdef)
    for s in ir.fdef.body[:-1]:
        if s is not built:
            statements.append(Renamer(renames).visit(copy.deepcopy(s)))
    if built is not None:
        return statements, [renames.get(e.id, e.id) for e in built.value.elts]
    return statements, Renamer(renames).visit(copy.deepcopy(ir.fdef.body[-1].value))


def _take_part(stmt, parts_of):
    """`x = t[k]` of an inlined tuple `t` becomes `x = <its k-th element>`."""
    if parts_of and isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Subscript) \
            and isinstance(stmt.value.value, gast.Name) and stmt.value.value.id in parts_of:
        return g.assign(stmt.targets[0].id, g.name(parts_of[stmt.value.value.id][stmt.value.slice.value]), stmt)
    return stmt
