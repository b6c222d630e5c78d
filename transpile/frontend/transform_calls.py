"""Transformations called inside a function being transformed, as in JAX.

`tp.jvp(f, (x, y), (tx, ty))` becomes a call of the generated jvp of `f`, and
`g = tp.grad(f, argnums=1)` (likewise value_and_grad, vmap, jacfwd, jacrev, hessian, jit) binds `g`
to the generated derivative of `f`, so that `g(w, x)` is a call like any other: it can be
differentiated again, batched, sharded and compiled (reverse-over-forward Hessian-vector
products, `tp.grad(loss)` inside a pmapped training step).
"""
import ast

import gast

from .. import gastutil as g
from ..analysis.names import LoadRenamer, NamePool, all_names, bind_object, resolve
from ..errors import UnsupportedSyntaxError
from ..transforms.simplify import drop_statements


def _function_aliases(fdef, namespace):
    """Names that normalize bound to a dotted function (`m_f = m.f`): name -> (statement, object)."""
    from ..assemble import callee_spec
    out = {}
    for node in gast.walk(fdef):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) \
                and isinstance(node.value, gast.Attribute):
            obj = resolve(node.value, namespace)
            if obj is not None and callee_spec(obj) is not None:
                out[node.targets[0].id] = (node, obj)
    return out


def _constant(node, filename):
    try:
        return ast.literal_eval(gast.gast_to_ast(node))
    except ValueError:
        raise UnsupportedSyntaxError(
            "the options of a transformation called inside a transformed function must be constants",
            node=node, filename=filename, hint="Write them as literals: tp.grad(f, argnums=(0, 1)).") from None


def _statements(block):
    """The statements of `block` and of the blocks nested in it, in source order."""
    for s in block:
        yield s
        for field in ("body", "orelse"):
            yield from _statements(getattr(s, field, None) or [])


def _bind_transformed_functions(fdef, namespace, filename):
    """`g = tp.grad(f, ...)` statements: `g` becomes the generated function's spec, bound in
    `namespace`, and the statement goes. Returns the names of the specs bound."""
    from .. import api
    from ..assemble import callee_spec
    constructors = {api.grad, api.value_and_grad, api.vmap, api.jacfwd, api.jacrev, api.hessian, api.jit}
    counts = {}
    for node in gast.walk(fdef):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    pool = NamePool(all_names(fdef), namespace)
    bound, renames, dropped = {}, {}, set()
    for node in _statements(fdef.body):
        if not (isinstance(node, gast.Assign) and isinstance(node.value, gast.Call)
                and isinstance(node.targets[0], gast.Name)):
            continue
        call = node.value
        constructor = resolve(call.func, namespace)
        if not any(constructor is c for c in constructors):
            continue
        target = node.targets[0].id
        fn = call.args[0] if call.args else None
        if isinstance(fn, gast.Name) and fn.id in renames:
            fn = g.name(renames[fn.id])
        obj = resolve(fn, namespace) if fn is not None else None
        if obj is None or callee_spec(obj) is None or counts.get(target) != 1:
            raise UnsupportedSyntaxError(
                f"tp.{constructor.__name__} inside a transformed function needs a function defined in a "
                "file, assigned to a name once", node=call, filename=filename,
                hint=f"Write g = tp.{constructor.__name__}(f, ...) then call g(...).")
        options = {kw.arg: _constant(kw.value, filename) for kw in call.keywords}
        extra = [_constant(a, filename) for a in call.args[1:]]
        spec = callee_spec(obj) if constructor is api.jit else constructor(callee_spec(obj), *extra, **options).tp_spec
        renames[target] = bind_object(namespace, pool, spec.label, spec)
        bound[renames[target]] = spec
        dropped.add(id(node))
    if renames:
        LoadRenamer(renames).visit(fdef)
        drop_statements(fdef, lambda s: id(s) in dropped)
    return bound


def inline_transform_calls(fdef, namespace, filename):
    """Rewrite the transformation calls of a core-form function in place; returns the function."""
    from .. import api
    from ..assemble import callee_spec
    _bind_transformed_functions(fdef, namespace, filename)
    pool = None
    aliases = None
    for node in gast.walk(fdef):
        if not (isinstance(node, gast.Assign) and isinstance(node.value, gast.Call)):
            continue
        call = node.value
        if resolve(call.func, namespace) is not api.jvp:
            continue
        if aliases is None:
            aliases = _function_aliases(fdef, namespace)
        fn = call.args[0] if call.args else None
        obj = aliases[fn.id][1] if isinstance(fn, gast.Name) and fn.id in aliases else resolve(fn, namespace)
        spec = callee_spec(obj) if obj is not None else None
        displays = call.args[1:]
        if spec is None or call.keywords or len(displays) != 2 \
                or not all(isinstance(d, (gast.Tuple, gast.List)) for d in displays) \
                or len(displays[0].elts) != len(displays[1].elts):
            raise UnsupportedSyntaxError(
                "tp.jvp inside a transformed function needs a function defined in a file and "
                "literal tuples of primals and tangents", node=call, filename=filename,
                hint="Write it as tp.jvp(f, (x, y), (tx, ty)).")
        primals, tangents = displays[0].elts, displays[1].elts
        pool = pool or NamePool(all_names(fdef), namespace)
        jvp_spec = spec.then("jvp", argnums=tuple(range(len(primals))))
        name = bind_object(namespace, pool, jvp_spec.label, jvp_spec)
        node.value = g.call(g.name(name), list(primals) + list(tangents))
    if aliases:
        _drop_unread(fdef, {stmt for stmt, _ in aliases.values()})
    return fdef


def _drop_unread(fdef, candidates):
    """Remove the alias statements among `candidates` that nothing reads any more."""
    reads = {n.id for n in gast.walk(fdef) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    dead = {id(s) for s in candidates if s.targets[0].id not in reads}
    drop_statements(fdef, lambda s: id(s) in dead)
