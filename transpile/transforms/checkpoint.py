"""`tp.checkpoint`: recompute instead of store (JAX's `jax.checkpoint`), for calls and for loops.

A call to a user function is a checkpoint already: reverse mode runs the callee's primal in the
forward sweep and, in the backward sweep, the callee's vjp, which recomputes the callee's forward
with its own local tape. So `checkpoint(fun)` leaves `fun` as it is.

`checkpoint(fun, every=k)` also checkpoints `fun`'s loops: each `for` loop at the top level of
`fun` becomes a loop over segments of k iterations (k = ceil(sqrt(trip count)) for "sqrt"), and
each segment a call of a generated function that runs those iterations:

    for segment in range(n_segments):          # the loop-carried state is the call's
        ...lo, hi of the segment...            # arguments and results: reverse mode keeps it
        x, v = f_loop_segment(lo, hi, x, v)    # once per segment, and the segment's vjp
                                               # re-runs its k iterations with a k-step tape
so an N-step loop keeps O(N/k + k) values instead of O(N) (the classic two-level scheme). Values
and derivatives are unchanged; only reverse mode's memory and time differ.
"""
import builtins
import copy
import math

import gast
import numpy as np

from .. import gastutil as g
from .. import runtime
from ..analysis.names import NamePool, all_names, bind_object
from ..errors import TranspileError
from ..ir import IRFunction
from ..pipeline import generated_function_spec, register_transform


def check_every(every):
    """`every` as given, after refusing what is neither None, a positive int nor "sqrt"."""
    if every is None or every == "sqrt" or (isinstance(every, int) and not isinstance(every, bool) and every > 0):
        return every
    raise ValueError(f"checkpoint: every must be None, a positive int or 'sqrt', got {every!r}")


@register_transform("checkpoint", keeps_structure=True)
def checkpoint(ir, every=None):
    """The function as it is (its calls are checkpoints already); with `every`, its loops segmented."""
    fdef = copy.deepcopy(ir.fdef)
    namespace = dict(ir.namespace)
    if every is not None:
        if any(name not in ("flatten", "checkpoint") for name, _ in ir.spec.chain):
            raise TranspileError("checkpoint(fun, every=...) checkpoints the loops that the user wrote: apply it to "
                                 "the function itself, inside other transformations", filename=ir.filename,
                                 hint="Write tp.grad(tp.checkpoint(f, every=k)), not tp.checkpoint(tp.grad(f), every=k).")
        _Segmenter(fdef, namespace, ir.filename, every).run()
    return IRFunction(fdef=fdef, namespace=namespace, filename=ir.filename, spec=ir.spec, groups=ir.groups)


def _stores(nodes):
    return [n.id for node in nodes for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]


def _loads(nodes):
    return [n.id for node in nodes for n in gast.walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)]


def _written_arrays(nodes):
    """Bases of in-place writes (`x[i] = v`) in `nodes`."""
    return [n.value.id for node in nodes for n in gast.walk(node)
            if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and isinstance(n.value, gast.Name)]


def _breaks(loop):
    return any(isinstance(s, gast.If) and any(isinstance(b, gast.Break) for b in s.body) for s in loop.body)


class _Segmenter:
    """Rewrites the top-level range loops of one function into loops over checkpointed segments."""

    def __init__(self, fdef, namespace, filename, every):
        self.fdef = fdef
        self.ns = namespace
        self.filename = filename
        self.every = every
        self.pool = NamePool(all_names(fdef), namespace)

    def run(self):
        body = self.fdef.body
        out = []
        for k, stmt in enumerate(body):
            segmented = None
            if isinstance(stmt, gast.For) and not _breaks(stmt):
                segmented = self.segment(stmt, before=body[:k], after=body[k + 1:])
            out += segmented if segmented is not None else [stmt]
        self.fdef.body = out

    def segment(self, loop, before, after):
        """The statements replacing `loop`, or None for a loop with no state to carry."""
        defined = {a.id for a in self.fdef.args.args} | set(_stores(before))
        read_after = set(_loads(after))
        read = _loads(loop.body)
        assigned = [loop.target.id] + _stores(loop.body) + _written_arrays(loop.body)
        start, stop, step = loop.iter.args
        if isinstance(step, gast.Name):
            read.append(step.id)
        inputs = [n for n in dict.fromkeys(read + assigned) if n in defined]
        outputs = [n for n in dict.fromkeys(assigned) if n in read_after or (n in read and n in defined)]
        if not outputs:
            return None
        callee = self.segment_function(loop, inputs, outputs)
        return self.segment_loop(loop, callee, inputs, outputs)

    def segment_function(self, loop, inputs, outputs):
        """A generated function running iterations lo..hi-1 of `loop`: (lo, hi, *inputs) -> outputs."""
        lo, hi = self.pool.fresh("lo"), self.pool.fresh("hi")
        body = []
        np_name = bind_object(self.ns, self.pool, "np", np)
        for name in dict.fromkeys(_written_arrays(loop.body)):
            if name in inputs:  # written in place: each segment writes its own copy, so the
                # state kept at each segment's start stays as it was
                body.append(g.assign(name, g.call(f"{np_name}.copy", [g.name(name)]), loop))
        step = copy.deepcopy(loop.iter.args[2])
        body.append(g.located(gast.For(target=g.name(loop.target.id, store=True),
                                       iter=g.call(copy.deepcopy(loop.iter.func), [g.name(lo), g.name(hi), step]),
                                       body=copy.deepcopy(loop.body), orelse=[], type_comment=None), loop))
        result = g.name(outputs[0])
        if len(outputs) > 1:
            result = g.name(self.pool.fresh("segment_state"))
            body.append(g.assign(result.id, gast.Tuple(elts=[g.name(n) for n in outputs], ctx=gast.Load()), loop))
        body.append(g.located(gast.Return(value=result), loop))
        params = [lo, hi] + inputs
        name = f"{self.fdef.name}_loop_segment"
        fdef = gast.FunctionDef(name=name, args=gast.arguments(
            args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None) for p in params],
            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
            body=body, decorator_list=[], returns=None, type_comment=None, type_params=[])
        spec = generated_function_spec(fdef, dict(self.ns), self.filename, "inside generated code")
        return bind_object(self.ns, self.pool, name, spec)

    def segment_loop(self, loop, callee, inputs, outputs):
        """`trip`, `stride` and the loop over segments that calls `callee` once per segment."""
        start, stop, step = (copy.deepcopy(a) for a in loop.iter.args)
        fresh = self.pool.fresh
        trip, stride = fresh("trip"), fresh("stride")
        out = [g.assign(trip, g.call(bind_object(self.ns, self.pool, "range_length", runtime.range_length),
                                     [start, stop, step]), loop)]
        if self.every == "sqrt":
            root, ceiling = fresh("sqrt_trip"), fresh("ceil_sqrt_trip")
            math_name = bind_object(self.ns, self.pool, "math", math)
            max_name = bind_object(self.ns, self.pool, "max", builtins.max)
            out += [g.assign(root, g.call(f"{math_name}.sqrt", [g.name(trip)]), loop),
                    g.assign(ceiling, g.call(f"{math_name}.ceil", [g.name(root)]), loop),
                    g.assign(stride, g.call(max_name, [g.name(ceiling), g.const(1)]), loop)]
        else:
            out.append(g.assign(stride, g.const(self.every), loop))
        padded, last = fresh("padded_trip"), fresh("last_start")
        n_segments, segment = fresh("n_segments"), fresh("segment")
        out += [g.assign(padded, g.binop(g.name(trip), gast.Add(), g.name(stride)), loop),
                g.assign(last, g.binop(g.name(padded), gast.Sub(), g.const(1)), loop),
                g.assign(n_segments, g.binop(g.name(last), gast.FloorDiv(), g.name(stride)), loop)]
        first, end, stop_index = fresh("first"), fresh("end"), fresh("stop")
        body = [g.assign(first, g.binop(g.name(segment), gast.Mult(), g.name(stride)), loop),
                g.assign(end, g.binop(g.name(first), gast.Add(), g.name(stride)), loop),
                g.assign(stop_index, g.call(bind_object(self.ns, self.pool, "min", builtins.min),
                                            [g.name(end), g.name(trip)]), loop)]
        bounds = []
        for index, value in ((first, "lo"), (stop_index, "hi")):  # the loop variable's value: start + index * step
            bound = g.name(index)
            if not (isinstance(step, gast.Constant) and step.value == 1):
                scaled = fresh(value + "_offset")
                body.append(g.assign(scaled, g.binop(bound, gast.Mult(), copy.deepcopy(step)), loop))
                bound = g.name(scaled)
            if not (isinstance(start, gast.Constant) and start.value == 0):
                shifted = fresh(value)
                body.append(g.assign(shifted, g.binop(copy.deepcopy(start), gast.Add(), bound), loop))
                bound = g.name(shifted)
            bounds.append(bound)
        call = g.call(callee, bounds + [g.name(n) for n in inputs])
        if len(outputs) == 1:
            body.append(g.assign(outputs[0], call, loop))
        else:
            state = fresh("state")
            body.append(g.assign(state, call, loop))
            body += [g.assign(n, gast.Subscript(value=g.name(state), slice=g.const(k), ctx=gast.Load()), loop)
                     for k, n in enumerate(outputs)]
        segments = g.call(copy.deepcopy(loop.iter.func), [g.const(0), g.name(n_segments), g.const(1)])
        return out + [g.located(gast.For(target=g.name(segment, store=True), iter=segments, body=body,
                                         orelse=[], type_comment=None), loop)]


