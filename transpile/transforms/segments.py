"""Split a function at its collectives (tp.psum and friends): the pieces between collectives are
per-example code, and each collective combines every example's value between two pieces.

vmap's loop strategy runs each segment in its own loop over the batch, storing the values that
later segments read in batched arrays; pmap runs segments on shards. A segment is itself a
transformation of the function (`segment` in a FunctionSpec chain), so generated code can call it,
and reverse mode can differentiate it, like any callee.
"""
import copy
from dataclasses import dataclass, field

import gast

from .. import gastutil as g
from ..analysis.names import NamePool, all_names, resolve
from ..collectives import COLLECTIVES
from ..errors import TranspileError
from ..ir import FunctionSpec, IRFunction
from ..pipeline import build_ir, register_transform


@dataclass
class Collective:
    """`target = fn(arg, axis_name)` between two segments; `kind` as in collectives.COLLECTIVES."""

    target: str
    fn: object
    kind: str
    arg: gast.expr = None


@dataclass
class Segment:
    """Statements between collectives; `params` are read from before, `outputs` needed after."""

    body: list
    params: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


def _collective_call(stmt, namespace):
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) \
            and isinstance(stmt.value, gast.Call):
        fn = resolve(stmt.value.func, namespace)
        try:
            if fn in COLLECTIVES:
                return fn
        except TypeError:
            return None
    return None


def _axis_name_of(call, namespace, aliases, filename):
    """The axis name: a string constant, or a global or closure variable holding one (which
    core form may have read into a local first: `aliases`)."""
    args = call.args
    node = args[-1] if args else None
    for kw in call.keywords:
        if kw.arg == "axis_name":
            node = kw.value
    while isinstance(node, gast.Name) and node.id in aliases:
        node = aliases[node.id]
    if isinstance(node, gast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (gast.Name, gast.Attribute)) and isinstance(resolve(node, namespace), str):
        return resolve(node, namespace)
    raise TranspileError("a collective's axis name must be a string constant", node=call,
                         filename=filename, hint='Write tp.psum(x, "batch").')


def _loads(node):
    return [n.id for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def _stores(stmts):
    return {n.id for s in stmts for n in gast.walk(s) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}


def split(fdef, namespace, axis_name, filename, binder="vmap"):
    """(segments, collectives) with len(segments) == len(collectives) + 1.

    Collectives must be top-level statements (not inside loops or branches) and name `axis_name`,
    the axis that the enclosing `binder` (vmap or pmap) maps.
    """
    body, ret = fdef.body[:-1], fdef.body[-1]
    top = {id(s) for s in body}
    aliases = {s.targets[0].id: s.value for s in body if isinstance(s, gast.Assign)
               and isinstance(s.targets[0], gast.Name) and isinstance(s.value, (gast.Attribute, gast.Constant))}
    for node in gast.walk(fdef):
        if isinstance(node, gast.Call):
            fn = resolve(node.func, namespace)
            try:
                known = fn in COLLECTIVES
            except TypeError:
                known = False
            if not known:
                continue
            name = _axis_name_of(node, namespace, aliases, filename)
            if name != axis_name:
                bound = f"binds {axis_name!r}" if axis_name else "binds no axis name"
                raise TranspileError(
                    f"{fn.__name__} over axis {name!r}, but the innermost {binder} around it {bound}",
                    node=node, filename=filename,
                    hint=f"Give that {binder} axis_name={name!r}; collectives over an outer "
                         f"{binder}'s axis are not supported.")
    pieces, collectives, current = [], [], []
    for s in body:
        fn = _collective_call(s, namespace)
        if fn is None:
            current.append(s)
            continue
        pieces.append(current)
        current = []
        call = s.value
        arg = call.args[0] if COLLECTIVES[fn] != "index" else None
        collectives.append(Collective(s.targets[0].id, fn, COLLECTIVES[fn], arg))
    pieces.append(current)
    for node in gast.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign) and id(node) not in top and _collective_call(node, namespace):
            raise TranspileError(f"{_collective_call(node, namespace).__name__} inside a loop or branch",
                                 node=node, filename=filename,
                                 hint="Call collectives at the top level of the mapped function.")
    segments = [Segment(piece) for piece in pieces]
    params = [a.id for a in fdef.args.args]
    defined = list(params)
    for k, seg in enumerate(segments):
        later = []
        for s in segments[k + 1:]:
            later += [n for st in s.body for n in _loads(st)]
        later += [n for c in collectives[k:] if c.arg is not None for n in _loads(c.arg)]
        here = [n for st in seg.body for n in _loads(st)]
        if k < len(collectives):
            later += _loads(ret)
            if collectives[k].arg is not None:
                here += _loads(collectives[k].arg)
        else:
            here += _loads(ret)
        stored = _stores(seg.body)
        # a name the segment may leave unassigned (a branch) but later code reads comes in too
        seg.params = [n for n in dict.fromkeys(here + [n for n in later if n in stored]) if n in defined]
        defined += [n for n in dict.fromkeys(n for st in seg.body for n in _stores([st])) if n not in defined]
        if k < len(collectives):
            own = _loads(collectives[k].arg) if collectives[k].arg is not None else []
            after = [n for n in later if n != collectives[k].target]
            seg.outputs = [n for n in dict.fromkeys(own + after) if n in stored]
            defined.append(collectives[k].target)
    return segments, collectives


def segment_spec(spec, axis_name, index):
    """The spec of segment `index` of the function `spec` (whose kinds decide its code)."""
    return FunctionSpec(spec.pyfunc, spec.chain + (("segment", (("axis_name", axis_name),
                                                                  ("body_kinds", spec.kinds),
                                                                  ("index", index))),))


@register_transform("segment", inner_kinds=lambda kinds, **options: None)
def segment(ir, axis_name, index, body_kinds):
    """Segment `index` as a function of its params; it returns the tuple of its outputs, the last
    one the function's own result."""
    inner = ir.spec
    body_ir = build_ir(FunctionSpec(inner.pyfunc, inner.chain, body_kinds))
    segments, collectives = split(body_ir.fdef, body_ir.namespace, axis_name, body_ir.filename)
    seg = segments[index]
    loc = body_ir.fdef
    stmts = copy.deepcopy(seg.body)
    if index == len(collectives):
        stmts.append(copy.deepcopy(body_ir.fdef.body[-1]))
    else:
        result = NamePool(all_names(body_ir.fdef)).fresh("segment_outputs")
        stmts.append(g.assign(result, gast.Tuple(elts=[g.name(n) for n in seg.outputs], ctx=gast.Load()), loc))
        stmts.append(g.located(gast.Return(value=g.name(result)), loc))
    fdef = copy.deepcopy(body_ir.fdef)
    fdef.name = f"{body_ir.fdef.name}_segment_{index}"
    fdef.body = stmts
    fdef.args.args = [gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None) for p in seg.params]
    return IRFunction(fdef=fdef, namespace=dict(body_ir.namespace), filename=body_ir.filename,
                      spec=body_ir.spec)
