"""`tp.jvp(f, (x, y), (tx, ty))` inside a function being transformed becomes a call of the
generated jvp of `f`, so that it can be differentiated again, batched and compiled like any
other call (reverse-over-forward Hessian-vector products, jit of a function that calls jvp)."""
import gast

from .. import gastutil as g
from ..analysis.names import NamePool, all_names, bind_object, resolve
from ..errors import UnsupportedSyntaxError


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


def inline_transform_calls(fdef, namespace, filename):
    """Rewrite the jvp calls of a core-form function in place; returns the function."""
    from .. import api
    from ..assemble import callee_spec
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

    def sweep(block):
        kept = [s for s in block if id(s) not in dead]
        for s in kept:
            for field in ("body", "orelse"):
                if getattr(s, field, None):
                    setattr(s, field, sweep(getattr(s, field)) or [gast.Pass()])
        return kept

    fdef.body = sweep(fdef.body)
