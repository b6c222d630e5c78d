"""vmap: the batched variant of a function, by one of two strategies.

- loop: the batched function loops over examples and calls the per-example function. Every body
  works, data-dependent branches included (each example takes its own branch); under
  `jit(parallel=True)` the loop is a `prange`, so examples run on all cores. Collectives
  (`tp.psum(x, axis_name)`) split the body into segments (segments.py), each looped separately.
- vectorize (vectorize.py): batching rules rewrite each operation to act on the whole batch.

`method="auto"` takes vectorize when every statement has a batching rule, else loop.
"""
import gast
import numpy as np

from .. import gastutil as g
from .. import runtime
from ..analysis.names import NamePool, all_names, bind_object
from ..ir import IRFunction
from ..pipeline import register_transform
from .batch_axes import example_kinds, leaf_in_axes, leaf_out_axes, leaf_paths, resolve_in_axes, result_structure, treedefs_of
from .segments import segment_spec, split

METHODS = ("auto", "loop", "vectorize")


def result_arity(fdef):
    """k when the function always returns a k-tuple display, else None (a single result)."""
    structure = result_structure(fdef)
    return None if structure is None else len(structure)


class LoopBatcher:
    """Writes the batched function: batch size, one loop per segment, collectives in between."""

    def __init__(self, ir, axes, parallel, namespace=None, pool=None):
        self.ir = ir
        self.params = ir.params
        self.axes = axes
        self.namespace = {} if namespace is None else namespace
        self.pool = pool or NamePool(self.params, all_names(ir.fdef))
        self.loc = ir.fdef
        self.stmts = []
        self.parallel = parallel

    def helper(self, name):
        return bind_object(self.namespace, self.pool, name, getattr(runtime, name))

    def emit(self, target, value):
        self.stmts.append(g.assign(target, value, self.loc))

    def fresh(self, base, value):
        name = self.pool.fresh(base)
        self.emit(name, value)
        return name

    def batch_first(self):
        """(name, 0 or None) per parameter: arguments mapped along another axis get a contiguous
        copy with the batch axis first, so that each example is one contiguous block."""
        out = []
        for p, axis in zip(self.params, self.axes):
            if axis:
                p = self.fresh(p + "_batch_first", g.call(self.helper("move_axis"), [g.name(p), g.const(axis),
                                                                                       g.const(0)]))
                axis = 0
            out.append((p, axis))
        return out

    def batch_size(self):
        """The batch size from the first mapped argument; the others are checked against it."""
        mapped = [(p, a) for p, a in zip(self.params, self.axes) if a is not None]
        (first, axis), others = mapped[0], mapped[1:]
        shape = self.fresh("shape", gast.Attribute(value=g.name(first), attr="shape", ctx=gast.Load()))
        n = self.fresh("batch_size", gast.Subscript(value=g.name(shape), slice=g.const(axis), ctx=gast.Load()))
        check = self.helper("check_batch_size") if others else None
        for p, a in others:
            other_shape = self.fresh("shape", gast.Attribute(value=g.name(p), attr="shape", ctx=gast.Load()))
            size = self.fresh("size", gast.Subscript(value=g.name(other_shape), slice=g.const(a), ctx=gast.Load()))
            message = (f"vmap got inconsistent sizes for the mapped axes: axis {a} of argument {p!r} "
                       f"differs from axis {axis} of argument {first!r}")
            self.fresh("checked", g.call(check, [g.name(size), g.name(n), g.const(message)]))
        return n

    def map_call(self, fn, args, n, structure, out_axes):
        """Call `fn` once per example; args are (name, 0 for batched or None). One (name, axis) per
        result leaf: the batched array (axis 0), or the first example's value for out_axes None."""
        paths = leaf_paths(structure)

        def one_example(b, stmts):
            call_args = []
            for name, axis in args:
                if axis is None:
                    call_args.append(g.name(name))
                    continue
                item = self.pool.fresh(name + "_b")
                stmts.append(g.assign(item, gast.Subscript(value=g.name(name), slice=g.name(b), ctx=gast.Load()),
                                      self.loc))
                call_args.append(g.name(item))
            result = self.pool.fresh("result_b")
            stmts.append(g.assign(result, g.call(fn, call_args), self.loc))
            parts = {(): result}
            for path in paths:
                for depth in range(1, len(path) + 1):
                    if path[:depth] not in parts:
                        node, k = parts[path[:depth - 1]], path[depth - 1]
                        parts[path[:depth]] = self.pool.fresh(f"{node}_{k}")
                        stmts.append(g.assign(parts[path[:depth]], gast.Subscript(
                            value=g.name(node), slice=g.const(k), ctx=gast.Load()), self.loc))
            return [parts[path] for path in paths]

        first = self.fresh("first", g.const(0))
        first_leaves = one_example(first, self.stmts)
        outs = []
        alloc = self.helper("batch_alloc")
        for leaf, axis in zip(first_leaves, out_axes):
            if axis is None:
                outs.append((leaf, None))
                continue
            out = self.fresh("batched", g.call(alloc, [g.name(leaf), g.name(n)]))
            self.stmts.append(g.assign(gast.Subscript(value=g.name(out), slice=g.name(first), ctx=gast.Store()),
                                       g.name(leaf), self.loc))
            outs.append((out, 0))
        b = self.pool.fresh("b")
        body = []
        leaves = one_example(b, body)
        for leaf, (out, axis) in zip(leaves, outs):
            if axis is not None:
                body.append(g.assign(gast.Subscript(value=g.name(out), slice=g.name(b), ctx=gast.Store()),
                                     g.name(leaf), self.loc))
        loop_range = self.helper("prange") if self.parallel else "range"
        self.stmts.append(g.located(gast.For(target=g.name(b, store=True),
                                             iter=g.call(loop_range, [g.const(1), g.name(n), g.const(1)]),
                                             body=body, orelse=[], type_comment=None), self.loc))
        return outs

    def collective(self, coll, env, n):
        """Statements computing `coll` over the batch; returns (name, axis) of its value."""
        if coll.kind == "index":
            np_name = bind_object(self.namespace, self.pool, "np", np)
            return self.fresh(coll.target, g.call(f"{np_name}.arange", [g.name(n)])), 0
        if isinstance(coll.arg, gast.Constant):
            stacked = self.fresh(coll.target + "_all", g.call(self.helper("batch_broadcast"), [coll.arg, g.name(n)]))
        else:
            name, axis = env[coll.arg.id]
            if axis is None:
                stacked = self.fresh(name + "_all", g.call(self.helper("batch_broadcast"), [g.name(name), g.name(n)]))
            else:
                stacked = name
        if coll.kind == "gather":
            return stacked, None
        if coll.kind == "scatter":
            rows = g.call(self.helper("reduce_sum"), [g.name(stacked), g.const(0), g.const(False)])
            return self.fresh(coll.target, rows), 0
        reducer = {"psum": "reduce_sum", "pmean": "reduce_mean", "pmax": "reduce_max",
                   "pmin": "reduce_min"}[coll.fn.__name__]
        value = g.call(self.helper(reducer), [g.name(stacked), g.const(0), g.const(False)])
        return self.fresh(coll.target, value), None

    def finish(self, outs, structure, out_axes):
        """Move batch axes where out_axes asks, rebuild the result's tuples, return."""
        finals = []
        for (name, axis), out_axis in zip(outs, out_axes):
            if axis is not None and out_axis not in (None, 0):
                name = self.fresh("moved", g.call(self.helper("move_axis"),
                                                  [g.name(name), g.const(0), g.const(out_axis)]))
            finals.append(name)
        finals = iter(finals)

        def rebuild(sub):
            if sub is None:
                return next(finals)
            parts = [rebuild(s) for s in sub]
            return self.fresh("batched_results", gast.Tuple(elts=[g.name(p) for p in parts], ctx=gast.Load()))

        ret = rebuild(structure)
        self.stmts.append(g.located(gast.Return(value=g.name(ret)), self.loc))


def _loop(ir, axes, out_axes, axis_name, parallel):
    batcher = LoopBatcher(ir, axes, parallel)
    n = batcher.batch_size()
    structure = result_structure(ir.fdef)
    leaf_axes = leaf_out_axes(out_axes, structure)
    env = dict(zip(ir.params, batcher.batch_first()))
    if axis_name is None:
        fn = bind_object(batcher.namespace, batcher.pool, ir.spec.label, ir.spec)
        outs = batcher.map_call(fn, [env[p] for p in ir.params], n, structure, leaf_axes)
    else:
        segments, collectives = split(ir.fdef, ir.namespace, axis_name, ir.filename)
        for k, (seg, coll) in enumerate(zip(segments, collectives)):
            if seg.outputs:
                spec = segment_spec(ir.spec, axis_name, k)
                fn = bind_object(batcher.namespace, batcher.pool, f"{ir.spec.label}_segment_{k}", spec)
                stored = batcher.map_call(fn, [env[p] for p in seg.params], n,
                                          tuple(None for _ in seg.outputs), [0] * len(seg.outputs))
                env.update(zip(seg.outputs, stored))
            env[coll.target] = batcher.collective(coll, env, n)
        last = len(collectives)
        spec = segment_spec(ir.spec, axis_name, last) if collectives else ir.spec
        fn = bind_object(batcher.namespace, batcher.pool,
                         f"{ir.spec.label}_segment_{last}" if collectives else ir.spec.label, spec)
        params = segments[-1].params if collectives else ir.params
        outs = batcher.map_call(fn, [env[p] for p in params], n, structure, leaf_axes)
    batcher.finish(outs, structure, leaf_axes)
    return batcher.namespace, batcher.stmts


def batched_ir(ir, namespace, stmts):
    fdef = gast.FunctionDef(name=ir.fdef.name + "_vmap",
                            args=gast.arguments(args=[g.name(p) for p in ir.params], posonlyargs=[],
                                                vararg=None, kwonlyargs=[], kw_defaults=[],
                                                kwarg=None, defaults=[]),
                            body=stmts, decorator_list=[], returns=None, type_comment=None,
                            type_params=[])
    for a in fdef.args.args:
        a.ctx = gast.Param()
    gast.copy_location(fdef, ir.fdef)
    out = IRFunction(fdef=fdef, namespace=namespace, filename=ir.filename, spec=ir.spec)
    out.groups = ir.groups
    return out


def _inner_kinds(kinds, in_axes=0, inner_chain=(), **options):
    return example_kinds(kinds, in_axes, inner_chain)


@register_transform("vmap", inner_kinds=_inner_kinds, wants_kinds=True, keeps_structure=True)
def vmap(ir, in_axes=0, out_axes=0, axis_name=None, method="auto", parallel=False, kinds=None):
    if method not in METHODS:
        raise ValueError(f"vmap method={method!r}; choose one of {', '.join(map(repr, METHODS))}")
    axes = leaf_in_axes(in_axes, len(ir.params), treedefs_of(ir.spec.chain))
    axes = resolve_in_axes(axes, ir.params, kinds)
    if method != "loop" and axis_name is None:
        from .vectorize import vectorize
        vectorized = vectorize(ir, axes, out_axes, parallel, strided_reads_in_loops=method == "vectorize")
        if vectorized is not None:
            return vectorized
    namespace, stmts = _loop(ir, axes, out_axes, axis_name, parallel)
    return batched_ir(ir, namespace, stmts)

