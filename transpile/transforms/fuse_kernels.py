"""Fusion for the CUDA target: array code becomes kernels, launched by host code.

`jit(f, target="cuda")` of a function that computes with whole arrays (rather than a vmapped
scalar function: kernel.py) runs `f` as plain host Python in which each fused group (fuse.py's
grouping and loop body, unchanged) becomes one kernel and its launch:
- no reduction: one thread per element of the group's index space;
- reductions along one axis: one thread per element of the other axes, looping over that axis;
- full reductions: one thread per element, a tree per block and a second pass over the blocks
  (backends/cuda_reduce.py), deterministic.
On the GPU a lone array operation is worth a kernel too; under fuse=False every operation is its
own kernel (what a NumPy-like GPU library would launch), for comparison.

What has no kernel form runs through NumPy on the host, its operands copied there: matmul,
shape ops, gradient helpers that are not elementwise, and the NumPy statements a fused group
falls back to where size-1 axes broadcast. Reading or writing single array elements outside a
kernel, or calling another function from array code, is refused: it would run as Python.
"""
import builtins
import copy
import math

import gast
import numpy as np

from .. import gastutil as g
from .. import runtime
from ..analysis.kinds import infer
from ..analysis.names import bind_object, resolve
from ..errors import CompileError
from ..ir import IRFunction
from ..pipeline import generated_function_spec
from .device import own_expressions
from .fuse import _IDENTITY, Fuser, _combine, _note, _product, _subscript, _tuple

_OPERATORS = {np.add: gast.Add, np.subtract: gast.Sub, np.multiply: gast.Mult, np.divide: gast.Div,
              np.power: gast.Pow}
_COMPARISONS = {np.less: gast.Lt, np.less_equal: gast.LtE, np.greater: gast.Gt, np.greater_equal: gast.GtE,
                np.equal: gast.Eq, np.not_equal: gast.NotEq}
_UNARY = {np.negative: gast.USub, np.positive: gast.UAdd}
_MATH = {np.sqrt: "sqrt", np.exp: "exp", np.expm1: "expm1", np.log: "log", np.log2: "log2", np.log10: "log10",
         np.log1p: "log1p", np.sin: "sin", np.cos: "cos", np.tan: "tan", np.arcsin: "asin", np.arccos: "acos",
         np.arctan: "atan", np.sinh: "sinh", np.cosh: "cosh", np.tanh: "tanh", np.arcsinh: "asinh",
         np.arccosh: "acosh", np.arctanh: "atanh", np.arctan2: "atan2", np.hypot: "hypot", np.isnan: "isnan",
         np.isinf: "isinf", np.isfinite: "isfinite", np.absolute: "fabs", np.fabs: "fabs",
         runtime.erf_elementwise: "erf"}
_HELPERS = {np.maximum: "maximum", np.minimum: "minimum", np.fmax: "fmax", np.fmin: "fmin", np.sign: "sign",
            np.floor: "floor", np.ceil: "ceil", np.cbrt: "cbrt", np.exp2: "exp2", np.logaddexp: "logaddexp",
            np.logaddexp2: "logaddexp2", np.logical_and: "logical_and", np.logical_or: "logical_or",
            np.logical_not: "logical_not"}
_SHAPE_ATTRIBUTES = ("shape", "ndim", "dtype", "size")


class KernelFuser(Fuser):
    """fuse.py's Fuser whose loop nests become kernels and whose leftovers run on the host."""

    min_members = 1
    group_starts = ("elementwise", "reduction")
    shares_shape_carriers = False  # shape-only results are device arrays of their own (allocation)
    reads_unit_axes = False        # a kernel's operands have the group's extents
    fuses_rows = False             # a thread per element: a row's dot product stays a library call

    def __init__(self, fdef, namespace, param_kinds, filename, label, fuse):
        super().__init__(fdef, namespace, param_kinds, parallel=False)
        from numba import cuda

        from ..backends import cuda_host, cuda_reduce, device_math
        self.filename, self.label, self.fuse = filename, label, fuse
        self.host = bind_object(self.ns, self.pool, "cuda_host", cuda_host)
        self.cuda = bind_object(self.ns, self.pool, "cuda", cuda)
        self.reduce = bind_object(self.ns, self.pool, "cuda_reduce", cuda_reduce)
        self.device_math = bind_object(self.ns, self.pool, "device_math", device_math)
        self.math = bind_object(self.ns, self.pool, "math", math)
        self.threads = cuda_host.THREADS
        self.block_reductions = []  # per group: (accumulator, op, partials) of its full reductions
        self.axis = None            # per group: the axis its reductions run along, if any

    # ------------------------------------------------------------------ which groups form
    def joins(self, members, member):
        """Under fuse=False one operation per kernel; reductions of one kernel all full, or all
        along the same axis (the axis its threads loop over)."""
        if not self.fuse and member.role != "copy" and any(m.role != "copy" for m in members):
            return False
        if member.role != "reduction":
            return True
        return all(m.axis == member.axis for m in members if m.role == "reduction")

    def emit(self, members, hoisted, after=()):
        self.block_reductions, self.axis = [], None
        return super().emit(members, hoisted, after)

    def allocation(self, extents, letter, deps):
        args = [_tuple([g.name(e) for e in extents]), g.const(letter)] + [g.name(d) for d in sorted(deps)]
        return g.call(f"{self.host}.device_empty", args)

    def emit_reduction(self, m, element, deps, rank, extents, index, pre, row_init, body, post_row, post, loc):
        acc = self.pool.fresh(f"{m.target}_acc")
        body.append(g.assign(acc, _combine(m.op, g.name(acc), element, self), loc))
        if m.axis is None:  # per-thread value, block tree, second pass on the host's call
            partials = self.pool.fresh(f"{m.target}_partials")
            pre.append(g.assign(partials, g.call(f"{self.host}.block_partials", [_product(extents)])))
            self.block_reductions.append((acc, m.op, partials))
            result = g.call(f"{self.host}.reduced", [g.name(partials), g.const(m.op)])
            if m.op == "mean":
                result = gast.BinOp(left=result, op=gast.Div(), right=_product(extents))
            post.append(g.assign(m.target, result))
            return
        self.axis = m.axis
        kept = [e for k, e in enumerate(extents) if k != m.axis]
        array = self.pool.fresh(f"{m.target}_out")
        pre.append(g.assign(array, self.allocation(kept, "f", deps)))
        row_init.append(g.assign(acc, g.const(_IDENTITY[m.op])))
        value = g.name(acc)
        if m.op == "mean":
            value = gast.BinOp(left=value, op=gast.Div(), right=g.name(extents[m.axis]))
        slot = [g.name(i) for k, i in enumerate(index) if k != m.axis]
        post_row.append(gast.Assign(targets=[_subscript(g.name(array), slot, store=True)], value=value,
                                    type_comment=None))
        post.append(g.assign(m.target, g.name(array)))

    # ------------------------------------------------------------------ the kernel and its launch
    def fused_code(self, members, nest):
        rank = len(nest.index)
        thread_axes = [k for k in range(rank) if k != self.axis]
        threads = _product([nest.extents[k] for k in thread_axes])
        t = self.pool.fresh("t")
        per_thread = self.thread_indices(t, [nest.index[k] for k in thread_axes],
                                         [nest.extents[k] for k in thread_axes])
        if self.axis is None:
            per_thread += nest.body
            layout = "one thread per element"
        else:
            loop = gast.For(target=g.name(nest.index[self.axis], store=True),
                            iter=g.call("range", [g.name(nest.extents[self.axis])]), body=nest.body, orelse=[],
                            type_comment=None)
            per_thread += nest.row_init + [loop] + nest.post_row
            layout = f"one thread per slice along axis {self.axis}"
        body = [g.assign(t, g.call(f"{self.cuda}.grid", [g.const(1)]))]
        body += [g.assign(acc, g.const(_IDENTITY[op])) for acc, op, _ in self.block_reductions]
        body.append(gast.If(test=gast.Compare(left=g.name(t), ops=[gast.Lt()], comparators=[threads]),
                            body=per_thread, orelse=[]))
        for acc, op, partials in self.block_reductions:
            body.append(g.expr_stmt(g.call(f"{self.reduce}.block_reduce", [
                g.name(acc), g.dotted_name(f"{self.reduce}.{'SUM' if op == 'mean' else op.upper()}"),
                g.name(partials)])))
        body = [_ScalarForms(self).visit(stmt) for stmt in body]
        if self.block_reductions:
            layout += ", a tree per block for each full reduction"
        self.layout = layout
        kernel, params = self.kernel_function(members, body, layout)
        launch = g.expr_stmt(g.call(f"{self.host}.launch", [g.name(kernel), _product(
            [nest.extents[k] for k in thread_axes])] + [g.name(p) for p in params]), members[0].stmt)
        return nest.pre + [launch] + nest.post

    def thread_indices(self, t, index, extents):
        """Loop variables from the thread number, the last axis fastest (coalesced reads)."""
        if len(index) == 1:
            return [g.assign(index[0], g.name(t))]
        out, rest = [], t
        for depth in range(len(index) - 1, 0, -1):
            out.append(g.assign(index[depth], gast.BinOp(left=g.name(rest), op=gast.Mod(),
                                                         right=g.name(extents[depth]))))
            quotient = index[0] if depth == 1 else self.pool.fresh(f"{t}_{depth}")
            out.append(g.assign(quotient, gast.BinOp(left=g.name(rest), op=gast.FloorDiv(),
                                                     right=g.name(extents[depth]))))
            rest = quotient
        return out

    def kernel_function(self, members, body, layout):
        """The kernel as a generated module function: (name bound to its spec here, parameters)."""
        stored = {n.id for s in body for n in gast.walk(s) if isinstance(n, gast.Name)
                  and isinstance(n.ctx, gast.Store)}
        params = list(dict.fromkeys(n.id for s in body for n in gast.walk(s) if isinstance(n, gast.Name)
                                    and isinstance(n.ctx, gast.Load) and n.id not in stored and n.id not in self.ns
                                    and not hasattr(builtins, n.id)))
        name = self.pool.fresh(f"{self.label}_kernel")
        note = _note(f"fused kernel: {_statements(members)} of {self.label}, {layout}")
        fdef = gast.FunctionDef(name=name, args=gast.arguments(
            args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None) for p in params],
            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
            body=[note] + body, decorator_list=[], returns=None, type_comment=None, type_params=[])
        gast.copy_location(fdef, members[0].stmt)
        spec = generated_function_spec(fdef, dict(self.ns), self.filename,
                                       "as a CUDA kernel launched by generated code")
        return bind_object(self.ns, self.pool, name, spec), params

    def note_text(self, members, guards):
        return (f"fused kernel: {_statements(members)} in one launch, {self.layout}"
                + (" (the NumPy statements after `else` run on the host where shapes broadcast)" if guards else ""))

    # ------------------------------------------------------------------ what runs on the host
    def fallback_code(self, members, statements):
        """The NumPy statements on the host, after copies of the arrays they read from outside."""
        defined, reads = set(), []
        for stmt in statements:
            reads += [n for n in own_expressions(stmt) if not (isinstance(n, gast.Name) and n.id in defined)]
            defined |= {t.id for t in stmt.targets if isinstance(t, gast.Name)}
        return self.to_host(reads) + statements

    def ungrouped(self, stmt):
        own = own_expressions(stmt)
        for node in own:
            self.refuse_on_host(node, stmt)
        if isinstance(stmt, gast.Return) or _moves_names(stmt):  # results() takes device arrays
            return [stmt]
        out = self.to_host(own) + [stmt]
        if isinstance(stmt, gast.While):  # its test runs again after the body
            stmt.body = stmt.body + self.to_host(own_expressions(stmt))
        return out

    def to_host(self, nodes):
        """`x = cuda_host.on_host(x)` for each array whose values the nodes read."""
        shape_reads = {id(n.value) for n in nodes if isinstance(n, gast.Attribute) and n.attr in _SHAPE_ATTRIBUTES}
        names = [n.id for n in nodes if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)
                 and id(n) not in shape_reads and self.is_array(n.id)]
        return [g.assign(name, g.call(f"{self.host}.on_host", [g.name(name)])) for name in dict.fromkeys(names)]

    def is_array(self, name):
        kind = self.kinds.get(name)
        return isinstance(kind, tuple) and isinstance(kind[1], int) and kind[1] > 0

    def refuse_on_host(self, node, stmt):
        from ..assemble import callee_spec
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and self.is_array(node.value.id):
            parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
            if len(parts) == self.kinds[node.value.id][1] and not any(isinstance(p, gast.Slice) for p in parts):
                self.refuse(stmt, f"{node.value.id}[...] reads or writes one element of an array outside a "
                                  "kernel, which would run as Python on the host",
                            "Write the computation with whole-array NumPy operations (they become kernels), "
                            "vmap a scalar function (one thread per example), or use target='cpu'.")
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
                and callee_spec(self.ns.get(node.func.id)) is not None:
            self.refuse(stmt, f"a call of {node.func.id}() in array code has no CUDA form yet",
                        "Inline the function, or use target='cpu'.")

    def refuse(self, stmt, reason, hint):
        raise CompileError(f"cannot run on the GPU: {reason}", node=stmt, filename=self.filename, hint=hint)


class _ScalarForms(gast.NodeTransformer):
    """NumPy ufuncs on scalars in a kernel become what Numba's CUDA target compiles: operators,
    `math`, or backends/device_math.py."""

    def __init__(self, fuser):
        self.fuser = fuser

    def visit_Call(self, node):
        self.generic_visit(node)
        fn = resolve(node.func, self.fuser.ns)
        args = node.args
        if fn in _OPERATORS:
            return gast.BinOp(left=args[0], op=_OPERATORS[fn](), right=args[1])
        if fn in _COMPARISONS:
            return gast.Compare(left=args[0], ops=[_COMPARISONS[fn]()], comparators=[args[1]])
        if fn in _UNARY:
            return gast.UnaryOp(op=_UNARY[fn](), operand=args[0])
        if fn is np.square:
            return gast.BinOp(left=args[0], op=gast.Mult(), right=copy.deepcopy(args[0]))
        if fn is np.reciprocal:
            return gast.BinOp(left=g.const(1.0), op=gast.Div(), right=args[0])
        if fn in _MATH:
            node.func = g.dotted_name(f"{self.fuser.math}.{_MATH[fn]}")
        elif fn in _HELPERS:
            node.func = g.dotted_name(f"{self.fuser.device_math}.{_HELPERS[fn]}")
        return node


def _statements(members):
    return f"{len(members)} array statement{'s' if len(members) > 1 else ''}"


def _moves_names(stmt):
    """`a = b` or `t = a, b`: names bound to other names' values, computing nothing."""
    if not isinstance(stmt, gast.Assign):
        return False
    values = stmt.value.elts if isinstance(stmt.value, (gast.Tuple, gast.List)) else [stmt.value]
    return all(isinstance(v, gast.Name) for v in values)


def computes_with_arrays(ir):
    """Does the function make array values (so that it needs kernels, not one thread)?"""
    if ir.kinds is None:
        return False
    kinds = infer(ir.fdef, ir.namespace, ir.kinds)
    made = {n.id for n in gast.walk(ir.fdef) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    made -= set(ir.params)
    returned = {n.id for r in gast.walk(ir.fdef) if isinstance(r, gast.Return) and r.value is not None
                for n in gast.walk(r.value) if isinstance(n, gast.Name)}
    return any(isinstance(kinds.get(n), tuple) and isinstance(kinds[n][1], int) and kinds[n][1] > 0
               for n in made | returned)


def host_function(ir, fuse=True):
    """The host function of array code on the CUDA target: arrays to the device, fused groups as
    kernel launches, leftovers through NumPy on the host, results where the inputs were."""
    fdef = copy.deepcopy(ir.fdef)
    namespace = dict(ir.namespace)
    fuser = KernelFuser(fdef, namespace, ir.kinds, ir.filename, ir.spec.label, fuse)
    fdef.body = fuser.rewrite_block(fdef.body)
    host = fuser.host
    on_device = fuser.pool.fresh("on_device")
    prologue = [g.assign(on_device, g.call(f"{host}.any_device", [_tuple([g.name(p) for p in ir.params])]))]
    prologue += [g.assign(p, g.call(f"{host}.to_device", [g.name(p), g.const(None)]))
                 for p in ir.params if fuser.is_array(p)]
    for node in gast.walk(fdef):
        if isinstance(node, gast.Return) and node.value is not None:
            node.value = g.call(f"{host}.results", [node.value, g.name(on_device)])
    fdef.body = prologue + fdef.body
    out = IRFunction(fdef=fdef, namespace=namespace, filename=ir.filename, spec=ir.spec, kinds=ir.kinds)
    out.groups = ir.groups
    return out

