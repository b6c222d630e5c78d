"""jacfwd under jit(target="cuda"): w.r.t. a scalar argument the Jacobian is one jvp along 1.0.

The general jacfwd (jacobian.py) fills a matrix column by column, which a GPU thread cannot
allocate. For a scalar x, d out / d x has out's shape and is exactly the tangent of the jvp with
t_x = 1.0, so a jacfwd whose differentiated arguments are all scalars needs no array at all;
otherwise the general form is generated (and refused inside kernels by device.py).
"""
import gast

from .. import gastutil as g
from ..analysis.names import NamePool, bind_object
from ..ir import FunctionSpec, IRFunction
from ..pipeline import register_transform
from .jacobian import _argnums, jacfwd_transform


def _is_scalar(kind):
    return isinstance(kind, tuple) and kind[1] == 0 and kind[0] in ("f", "i", "b")


@register_transform("scalar_jacfwd")
def scalar_jacfwd(ir, argnums=0):
    single, nums, _ = _argnums(ir, argnums)
    if ir.groups is not None or ir.kinds is None or not all(_is_scalar(ir.kinds[k]) for k in nums):
        return jacfwd_transform(ir, argnums)
    namespace, loc = {}, ir.fdef
    pool = NamePool(ir.params)
    stmts, results = [], []
    for k in nums:
        x = ir.params[k]
        jvp_spec = FunctionSpec(ir.spec.pyfunc, ir.spec.then("jvp", argnums=(k,)).chain,
                                tuple(ir.kinds) + (("f", 0),))  # kinds known: scalar code, no helpers
        jvp = bind_object(namespace, pool, ir.spec.label + "_jvp", jvp_spec)
        pair, derivative = pool.fresh("out_and_tangent"), pool.fresh("jacobian_" + x)
        stmts += [g.assign(pair, g.call(jvp, [g.name(p) for p in ir.params] + [g.const(1.0)]), loc),
                  g.assign(derivative, gast.Subscript(value=g.name(pair), slice=g.const(1), ctx=gast.Load()), loc)]
        results.append(derivative)
    if single:
        ret = results[0]
    else:
        ret = pool.fresh("jacobians")
        stmts.append(g.assign(ret, gast.Tuple(elts=[g.name(r) for r in results], ctx=gast.Load()), loc))
    stmts.append(g.located(gast.Return(value=g.name(ret)), loc))
    fdef = gast.FunctionDef(name=ir.fdef.name, args=gast.arguments(
        args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None) for p in ir.params],
        posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=stmts, decorator_list=[], returns=None, type_comment=None, type_params=[])
    out = IRFunction(fdef=gast.copy_location(fdef, loc), namespace=namespace, filename=ir.filename,
                     spec=ir.spec)
    out.groups = ir.groups
    return out
