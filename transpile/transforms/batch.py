"""vmap by the loop strategy: the batched function loops over examples and calls the original.

Every body works, data-dependent branches included (each example takes its own branch);
under `jit(parallel=True)` the loop is a `prange`, so examples run on all cores.
"""
import copy

import gast

from .. import gastutil as g
from ..analysis.names import NamePool, all_names, bind_object
from ..errors import TranspileError
from ..ir import IRFunction
from ..pipeline import register_transform


def _example_index(array, axis, b):
    """`array[b]`, or `array[:, b]` for axis 1, and so on."""
    if axis == 0:
        index = g.name(b)
    else:
        full = gast.Slice(lower=None, upper=None, step=None)
        index = gast.Tuple(elts=[copy.deepcopy(full) for _ in range(axis)] + [g.name(b)],
                           ctx=gast.Load())
    return gast.Subscript(value=g.name(array), slice=index, ctx=gast.Load())


def normalize_in_axes(in_axes, nparams, filename):
    axes = (in_axes,) * nparams if in_axes is None or isinstance(in_axes, int) else tuple(in_axes)
    if len(axes) != nparams:
        raise TranspileError(f"vmap in_axes has {len(axes)} entries for a function of {nparams} "
                             "arguments", filename=filename,
                             hint="Give one entry per positional argument (None: not batched).")
    if all(a is None for a in axes):
        raise TranspileError("vmap needs at least one batched argument (in_axes are all None)",
                             filename=filename)
    for a in axes:
        if a is not None and (not isinstance(a, int) or a < 0):
            raise TranspileError(f"vmap in_axes entries must be None or a non-negative int, got {a!r}",
                                 filename=filename)
    return axes


def _example_kinds(kinds, in_axes=0, **options):
    """Kinds seen by the function being batched: mapped arguments lose one axis."""
    axes = (in_axes,) * len(kinds) if in_axes is None or isinstance(in_axes, int) else in_axes
    out = []
    for kind, axis in zip(kinds, axes):
        if axis is None or kind is None:
            out.append(kind)
        else:
            out.append((kind[0], kind[1] - 1) if kind[1] else None)
    return tuple(out)


def result_arity(fdef):
    """k when the function always returns a k-tuple display, else None (a single result)."""
    ret = fdef.body[-1].value
    if not isinstance(ret, gast.Name):
        return None
    sizes = {len(s.value.elts) if isinstance(s.value, gast.Tuple) else None
             for s in gast.walk(fdef) if isinstance(s, gast.Assign)
             and isinstance(s.targets[0], gast.Name) and s.targets[0].id == ret.id}
    return sizes.pop() if len(sizes) == 1 and None not in sizes else None


@register_transform("vmap", inner_kinds=_example_kinds)
def vmap_loop(ir, in_axes=0, out_axes=0, parallel=False):
    from .. import runtime
    params = [a.id for a in ir.fdef.args.args]
    axes = normalize_in_axes(in_axes, len(params), ir.filename)
    namespace = {}
    pool = NamePool(params, all_names(ir.fdef))
    body_fn = bind_object(namespace, pool, ir.spec.label, ir.spec)
    check = bind_object(namespace, pool, "check_batch_size", runtime.check_batch_size)
    alloc = bind_object(namespace, pool, "batch_alloc", runtime.batch_alloc)
    loop_range = bind_object(namespace, pool, "prange", runtime.prange) if parallel else "range"
    loc = ir.fdef
    mapped = [(p, a) for p, a in zip(params, axes) if a is not None]
    n = pool.fresh("batch_size")
    shape = pool.fresh("shape")
    stmts = [g.assign(shape, gast.Attribute(value=g.name(mapped[0][0]), attr="shape", ctx=gast.Load()), loc),
             g.assign(n, gast.Subscript(value=g.name(shape), slice=g.const(mapped[0][1]), ctx=gast.Load()), loc)]
    for p, a in mapped[1:]:
        other_shape, other = pool.fresh("shape"), pool.fresh("size")
        stmts += [g.assign(other_shape, gast.Attribute(value=g.name(p), attr="shape", ctx=gast.Load()), loc),
                  g.assign(other, gast.Subscript(value=g.name(other_shape), slice=g.const(a), ctx=gast.Load()), loc),
                  g.assign(pool.fresh("checked"), g.call(check, [g.name(other), g.name(n)]), loc)]

    def one_example(b):
        """Statements computing the result for example `b`, and the result's name."""
        out, args = [], []
        for p, a in zip(params, axes):
            if a is None:
                args.append(g.name(p))
                continue
            item = pool.fresh(p + "_b")
            out.append(g.assign(item, _example_index(p, a, b), loc))
            args.append(g.name(item))
        result = pool.fresh("result_b")
        out.append(g.assign(result, g.call(body_fn, args), loc))
        return out, result

    arity = result_arity(ir.fdef)
    parts = range(arity or 1)

    def split(result):
        """The names of the result's parts: the result itself, or one per tuple element."""
        if arity is None:
            return [], [result]
        names = [pool.fresh(f"{result}_{j}") for j in parts]
        return [g.assign(name, gast.Subscript(value=g.name(result), slice=g.const(j), ctx=gast.Load()), loc)
                for j, name in enumerate(names)], names

    first_index = pool.fresh("first")
    stmts.append(g.assign(first_index, g.const(0), loc))
    first_stmts, first = one_example(first_index)
    stmts += first_stmts
    split_stmts, first_parts = split(first)
    stmts += split_stmts
    outs = [pool.fresh("batched") for _ in parts]
    for out, part in zip(outs, first_parts):
        stmts.append(g.assign(out, g.call(alloc, [g.name(part), g.name(n)]), loc))
        stmts.append(g.assign(gast.Subscript(value=g.name(out), slice=g.name(first_index), ctx=gast.Store()),
                              g.name(part), loc))
    b = pool.fresh("b")
    body, result = one_example(b)
    split_stmts, result_parts = split(result)
    body += split_stmts
    for out, part in zip(outs, result_parts):
        body.append(g.assign(gast.Subscript(value=g.name(out), slice=g.name(b), ctx=gast.Store()),
                             g.name(part), loc))
    stmts.append(g.located(gast.For(target=g.name(b, store=True),
                                    iter=g.call(loop_range, [g.const(1), g.name(n), g.const(1)]),
                                    body=body, orelse=[], type_comment=None), loc))
    finals = []
    for j, out in enumerate(outs):
        axis = out_axes[j] if isinstance(out_axes, tuple) else out_axes
        if axis:
            np_name = bind_object(namespace, pool, "np", __import__("numpy"))
            moved = pool.fresh("moved")
            stmts.append(g.assign(moved, g.call(f"{np_name}.moveaxis",
                                                [g.name(out), g.const(0), g.const(axis)]), loc))
            out = moved
        finals.append(out)
    ret = finals[0]
    if arity is not None:
        ret = pool.fresh("batched_results")
        stmts.append(g.assign(ret, gast.Tuple(elts=[g.name(f) for f in finals], ctx=gast.Load()), loc))
    stmts.append(g.located(gast.Return(value=g.name(ret)), loc))
    fdef = gast.FunctionDef(name=ir.fdef.name + "_vmap",
                            args=gast.arguments(args=[g.name(p) for p in params], posonlyargs=[],
                                                vararg=None, kwonlyargs=[], kw_defaults=[],
                                                kwarg=None, defaults=[]),
                            body=stmts, decorator_list=[], returns=None, type_comment=None,
                            type_params=[])
    for a in fdef.args.args:
        a.ctx = gast.Param()
    gast.copy_location(fdef, ir.fdef)
    result_ir = IRFunction(fdef=fdef, namespace=namespace, filename=ir.filename, spec=ir.spec)
    result_ir.groups = ir.groups
    return result_ir
